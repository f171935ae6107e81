import { EnsembleError } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { env, loadConfig } from './load-config.js';

const schema = z.object({
  PORT: env.port(8000),
  API_TOKENS: env.list(),
  DEBUG: env.boolean(false),
  UPSTREAM_URL: env.optionalUrl(),
});

describe('loadConfig', () => {
  it('applies defaults and treats empty strings as unset', () => {
    const config = loadConfig(schema, { PORT: '', DEBUG: '' });
    expect(config).toEqual({ PORT: 8000, API_TOKENS: [], DEBUG: false });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses lists, booleans and numbers', () => {
    const config = loadConfig(schema, { PORT: '9001', API_TOKENS: ' a, b ,,c', DEBUG: 'yes' });
    expect(config).toMatchObject({ PORT: 9001, API_TOKENS: ['a', 'b', 'c'], DEBUG: true });
  });

  it('names every bad variable in one error', () => {
    let caught: unknown;
    try {
      loadConfig(schema, { PORT: 'eighty', DEBUG: 'maybe', UPSTREAM_URL: 'not a url' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EnsembleError);
    const message = (caught as EnsembleError).message;
    expect(message).toContain('PORT');
    expect(message).toContain('DEBUG');
    expect(message).toContain('UPSTREAM_URL');
    expect(message).toContain('"eighty"');
  });

  it('reads OTEL_EXPORTER_OTLP_PROTOCOL as http/protobuf by default, http/json on request, and nothing else', () => {
    const otlp = z.object({ OTEL_EXPORTER_OTLP_PROTOCOL: env.otlpProtocol() });
    expect(loadConfig(otlp, {}).OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
    expect(loadConfig(otlp, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/json');
    expect(() => loadConfig(otlp, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL[\s\S]*"grpc"/);
  });
});
