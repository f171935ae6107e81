import { createLlmClient } from '@ensemble/llm';
import { createRouter, type RoutingClassifier } from '@ensemble/routing';
import { type RunningServer, createNodeFetch, serveHttp } from '@ensemble/service';
import { InMemorySpanExporter, type Telemetry, createLogger, startTelemetry } from '@ensemble/telemetry';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSimLlmApp } from '../../sim-llm/src/app.js';
import { createGateway } from './app.js';

/**
 * One trace across processes: the gateway's request span, its LLM span with OpenInference attributes,
 * and the `traceparent` the upstream received all share a trace id.
 */
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
const servers: RunningServer[] = [];
const sim = createSimLlmApp();
/** The same gateway served two ways: as `main.ts` serves it (header-routed passthroughs take the lane), and the app alone. */
const clients = new Map<string, OpenAI>();
const upstreamFetch = createNodeFetch({ claimableStreams: true });

/** Never asked here: every request below is routed by a header or a rule. */
const unusedClassifier: RoutingClassifier = {
  classify: () => Promise.reject(new Error('the classifier should not be called')),
};

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'gateway-test', memoryExporter: exporter });
  const logger = createLogger({ service: 'gateway-test', level: 'silent' });
  const simServer = await serveHttp(sim.app, { host: '127.0.0.1', port: 0, logger, service: 'sim-llm' });
  servers.push(simServer);
  const { app, lanes } = createGateway({
    logger,
    upstream: createLlmClient({ baseURL: `${simServer.url}/v1`, maxRetries: 0, fetch: upstreamFetch.fetch }),
    upstreamTimeoutMs: 5_000,
    router: createRouter({ classifier: unusedClassifier, classifierTimeoutMs: 1_000 }),
    apiTokens: [],
  });
  for (const [name, served] of [['lane', { lanes }], ['app', {}]] as const) {
    const gateway = await serveHttp(app, { host: '127.0.0.1', port: 0, logger, service: 'gateway', ...served });
    servers.push(gateway);
    clients.set(name, new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 }));
  }
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close(1_000)));
  upstreamFetch.close();
  await telemetry.shutdown();
});

function traceIdOf(traceparent: string | undefined): string | undefined {
  return /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent ?? '')?.[1];
}

describe.each(['lane', 'app'])('tracing (served by the %s)', (servedBy) => {
  const client = () => clients.get(servedBy) as OpenAI;

  it('propagates the trace to the upstream and records routing and OpenInference attributes', async () => {
    exporter.reset();
    sim.state.reset();
    const { response } = await client().chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hi' }], temperature: 0.2 }, { headers: { 'X-Skip-Orchestration': 'true' } })
      .withResponse();
    expect(response.status).toBe(200);

    const upstreamTraceId = traceIdOf(sim.state.requests.list()[0]?.headers.traceparent);
    expect(upstreamTraceId).toBeDefined();

    const spans = exporter.getFinishedSpans();
    const server = spans.find((span) => span.name === 'POST /v1/chat/completions' && span.attributes['ensemble.routing.path'] !== undefined);
    const llm = spans.find((span) => span.name === 'llm.chat_completions');
    expect(server?.spanContext().traceId).toBe(upstreamTraceId);
    expect(llm?.spanContext().traceId).toBe(upstreamTraceId);
    expect(llm?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(server?.attributes).toMatchObject({
      'ensemble.routing.path': 'passthrough',
      'ensemble.routing.source': 'header',
      'ensemble.routing.reason': 'X-Skip-Orchestration: true',
    });
    expect(llm?.attributes).toMatchObject({
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'gpt-4o-mini',
      'llm.input_messages.0.message.role': 'user',
      'llm.input_messages.0.message.content': 'Say hi',
      'llm.output_messages.0.message.role': 'assistant',
      'llm.token_count.prompt': expect.any(Number) as number,
    });
    expect(JSON.parse(String(llm?.attributes['llm.invocation_parameters']))).toEqual({ temperature: 0.2 });
  });

  it('ends the LLM span of a stream when the stream ends, with time to first token', async () => {
    exporter.reset();
    const stream = await client().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Stream a short answer' }], stream: true, stream_options: { include_usage: true } },
      { headers: { 'X-Routing-Mode': 'passthrough' } },
    );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    // The client has read [DONE]; the span ends in the same tick the relay wrote it.
    const llm = exporter.getFinishedSpans().find((span) => span.name === 'llm.chat_completions');
    expect(llm?.attributes['llm.output_messages.0.message.content']).toBe(text);
    expect(llm?.attributes['ensemble.stream.ttft_ms']).toEqual(expect.any(Number));
    expect(llm?.attributes['llm.token_count.completion']).toEqual(expect.any(Number));
    expect(llm?.status.code).toBe(1); // OK
  });
});
