import { loadConfig } from '@ensemble/config';
import { describe, expect, it } from 'vitest';

import { GatewayConfig, resolveBindHost } from './config.js';

describe('GatewayConfig', () => {
  it('has working defaults', () => {
    expect(loadConfig(GatewayConfig, {})).toMatchObject({
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: 8000,
      API_TOKENS: [],
      OPENAI_BASE_URL: 'https://api.openai.com/v1',
      REDIS_URL: 'redis://127.0.0.1:6379',
      ROUTING_CLASSIFIER_MODEL: 'gpt-4o-mini',
      ROUTING_CLASSIFIER_TEMPERATURE: 0,
      ROUTING_CLASSIFIER_TIMEOUT_MS: 3_000,
      REDIS_KEY_PREFIX: 'ensemble:',
      ORCHESTRATOR_URL: ['http://127.0.0.1:8001'],
      ORCHESTRATOR_TIMEOUT_MS: 600_000,
      AGENT_URLS: [],
      AGENT_REFRESH_INTERVAL_MS: 30_000,
      ROUTING_LOCAL_CLASSIFIER: true,
      ROUTING_LOCAL_THRESHOLD: 0.9,
    });
    expect(loadConfig(GatewayConfig, {}).AGENT_CLIENT_TOKEN).toBeUndefined();
  });

  it('reads the orchestrator and discovery settings', () => {
    const config = loadConfig(GatewayConfig, { ORCHESTRATOR_URL: 'http://orch:9000', AGENT_URLS: 'http://a:1, http://b:2', AGENT_CLIENT_TOKEN: 'internal' });
    expect(config).toMatchObject({ ORCHESTRATOR_URL: ['http://orch:9000'], AGENT_URLS: ['http://a:1', 'http://b:2'], AGENT_CLIENT_TOKEN: 'internal' });
    expect(() => loadConfig(GatewayConfig, { ORCHESTRATOR_URL: 'not a url' })).toThrow(/ORCHESTRATOR_URL/);
    // Several replicas, comma-separated; one bad entry is refused by name.
    expect(loadConfig(GatewayConfig, { ORCHESTRATOR_URL: 'http://o1:8001, http://o2:8021' }).ORCHESTRATOR_URL).toEqual(['http://o1:8001', 'http://o2:8021']);
    expect(() => loadConfig(GatewayConfig, { ORCHESTRATOR_URL: 'http://o1:8001,nope' })).toThrow(/ORCHESTRATOR_URL/);
  });

  it('reads the local routing classifier switch and threshold, and refuses bad ones', () => {
    expect(loadConfig(GatewayConfig, { ROUTING_LOCAL_CLASSIFIER: 'off', ROUTING_LOCAL_THRESHOLD: '0.75' })).toMatchObject({
      ROUTING_LOCAL_CLASSIFIER: false,
      ROUTING_LOCAL_THRESHOLD: 0.75,
    });
    expect(loadConfig(GatewayConfig, { ROUTING_LOCAL_CLASSIFIER: 'on', ROUTING_LOCAL_THRESHOLD: '1' })).toMatchObject({ ROUTING_LOCAL_CLASSIFIER: true, ROUTING_LOCAL_THRESHOLD: 1 });
    expect(() => loadConfig(GatewayConfig, { ROUTING_LOCAL_CLASSIFIER: 'sometimes' })).toThrow(/ROUTING_LOCAL_CLASSIFIER/);
    for (const bad of ['0.4', '1.5', 'high']) expect(() => loadConfig(GatewayConfig, { ROUTING_LOCAL_THRESHOLD: bad }), bad).toThrow(/ROUTING_LOCAL_THRESHOLD/);
  });

  it('names every bad variable', () => {
    expect(() => loadConfig(GatewayConfig, { ROUTING_CLASSIFIER_TEMPERATURE: '3', UPSTREAM_TIMEOUT_MS: '0', GATEWAY_PORT: 'x' })).toThrow(
      /ROUTING_CLASSIFIER_TEMPERATURE[\s\S]*UPSTREAM_TIMEOUT_MS|UPSTREAM_TIMEOUT_MS[\s\S]*ROUTING_CLASSIFIER_TEMPERATURE/,
    );
  });
});

describe('GatewayConfig approval webhooks', () => {
  it('are off by default, and read a URL list with its secret and first retry delay', () => {
    expect(loadConfig(GatewayConfig, {})).toMatchObject({ APPROVAL_WEBHOOK_URLS: [], APPROVAL_WEBHOOK_RETRY_INITIAL_MS: 1_000 });
    expect(loadConfig(GatewayConfig, {}).APPROVAL_WEBHOOK_SECRET).toBeUndefined();
    const config = loadConfig(GatewayConfig, { APPROVAL_WEBHOOK_URLS: 'https://hooks.example.com/a, http://10.0.0.5:9000/b', APPROVAL_WEBHOOK_SECRET: 's3cret', APPROVAL_WEBHOOK_RETRY_INITIAL_MS: '50' });
    expect(config).toMatchObject({ APPROVAL_WEBHOOK_URLS: ['https://hooks.example.com/a', 'http://10.0.0.5:9000/b'], APPROVAL_WEBHOOK_SECRET: 's3cret', APPROVAL_WEBHOOK_RETRY_INITIAL_MS: 50 });
  });

  it('refuses URLs without a secret (unsigned webhooks), and anything but http(s) URLs', () => {
    expect(() => loadConfig(GatewayConfig, { APPROVAL_WEBHOOK_URLS: 'https://hooks.example.com/a' })).toThrow(/APPROVAL_WEBHOOK_SECRET: required when APPROVAL_WEBHOOK_URLS is set/);
    expect(() => loadConfig(GatewayConfig, { APPROVAL_WEBHOOK_URLS: 'not a url', APPROVAL_WEBHOOK_SECRET: 's' })).toThrow(/APPROVAL_WEBHOOK_URLS/);
    expect(() => loadConfig(GatewayConfig, { APPROVAL_WEBHOOK_URLS: 'ftp://files.example.com/x', APPROVAL_WEBHOOK_SECRET: 's' })).toThrow(/APPROVAL_WEBHOOK_URLS/);
    // A secret alone is harmless.
    expect(loadConfig(GatewayConfig, { APPROVAL_WEBHOOK_SECRET: 's' }).APPROVAL_WEBHOOK_URLS).toEqual([]);
  });
});

describe('resolveBindHost', () => {
  it('keeps the configured host when tokens protect the API', () => {
    expect(resolveBindHost('0.0.0.0', ['t'])).toEqual({ host: '0.0.0.0' });
  });

  it('forces loopback without tokens, and warns either way', () => {
    const forced = resolveBindHost('0.0.0.0', []);
    expect(forced.host).toBe('127.0.0.1');
    expect(forced.warning).toContain('0.0.0.0');
    expect(resolveBindHost('::1', [])).toMatchObject({ host: '::1', warning: expect.stringContaining('API_TOKENS is empty') as string });
    expect(resolveBindHost('localhost', []).host).toBe('localhost');
    expect(resolveBindHost('10.1.2.3', []).host).toBe('127.0.0.1');
  });
});
