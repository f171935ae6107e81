import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type OtlpReceiver, startOtlpReceiver } from '../../../test/support/otlp-receiver.js';
import { llmRequestAttributes, llmResponseAttributes } from './openinference.js';
import { type OtlpProtocol, createOtlpExporter } from './tracing.js';

/**
 * The OTLP export against a receiver that behaves like Phoenix (protobuf only, 415 otherwise): the default
 * protocol is accepted and decodes to the span we sent; `http/json` sends JSON when asked (which such a
 * receiver refuses, the reason protobuf is the default).
 */
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});

afterAll(async () => {
  await receiver.close();
});

/** Exports one finished LLM span with `protocol` and waits until the exporter has had its answer. */
async function exportOneSpan(protocol: OtlpProtocol, name: string): Promise<void> {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(createOtlpExporter(receiver.url, protocol))] });
  const span = provider.getTracer('tracing-test').startSpan(name, {
    attributes: { ...llmRequestAttributes({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), ...llmResponseAttributes({ usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }) },
  });
  span.end();
  await provider.shutdown();
}

describe('OTLP export', () => {
  it('sends protobuf by default, which a Phoenix-like receiver accepts and decodes', async () => {
    await exportOneSpan('http/protobuf', 'protobuf-span');
    expect(receiver.requests.at(-1)).toMatchObject({ contentType: 'application/x-protobuf', status: 200 });
    const span = receiver.spans.find((candidate) => candidate.name === 'protobuf-span');
    expect(span?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span?.attributes).toMatchObject({
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'm',
      'llm.token_count.prompt': 3,
      'llm.token_count.completion': 4,
      'llm.token_count.total': 7,
    });
  });

  it('sends OTLP JSON when http/json is asked for', async () => {
    const before = receiver.requests.length;
    await exportOneSpan('http/json', 'json-span');
    expect(receiver.requests.slice(before)).toEqual([expect.objectContaining({ contentType: 'application/json', status: 415 })]);
    expect(receiver.spans.some((span) => span.name === 'json-span')).toBe(false);
  });

  it('refuses a protocol it does not speak', () => {
    expect(() => createOtlpExporter(receiver.url, 'grpc' as OtlpProtocol)).toThrow(/unsupported OTLP protocol "grpc"/);
  });
});
