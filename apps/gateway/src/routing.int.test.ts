import { createLlmClient } from '@ensemble/llm';
import { type RoutingClassifier, createLocalRoutingClassifier, createRouter, parseRoutingDecisionHeader } from '@ensemble/routing';
import { type RunningServer, serveHttp } from '@ensemble/service';
import { InMemorySpanExporter, type Telemetry, createLogger, startTelemetry } from '@ensemble/telemetry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type ServiceProcess, startService, stopAllServices } from '../../../test/support/processes.js';
import { testRedis } from '../../../test/support/redis.js';
import { createSimLlmApp } from '../../sim-llm/src/app.js';
import { createGatewayApp } from './app.js';

/**
 * The gateway as `main.ts` wires it (a real process), in front of an in-process sim-llm whose request log
 * shows whether the routing classifier was called: with the local first stage on (the default) and off.
 * Plus one in-process gateway with an in-memory span exporter, for the trace of a local decision.
 */
const API_TOKEN = 'routing-test-token';
const sim = createSimLlmApp();
const redis = testRedis();
let simServer: RunningServer;
let withLocal: ServiceProcess;
let withoutLocal: ServiceProcess;
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let inProcess: RunningServer;

beforeAll(async () => {
  simServer = await serveHttp(sim.app, { host: '127.0.0.1', port: 0, logger: createLogger({ service: 'sim-llm', level: 'silent' }), service: 'sim-llm' });
  const env = {
    GATEWAY_PORT: '0',
    API_TOKENS: API_TOKEN,
    OPENAI_BASE_URL: `${simServer.url}/v1`,
    OPENAI_API_KEY: 'upstream-key',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix,
    LOG_LEVEL: 'info',
  };
  telemetry = startTelemetry({ serviceName: 'gateway-test', memoryExporter: exporter });
  const neverAsked: RoutingClassifier = { classify: () => Promise.reject(new Error('the LLM classifier should not be called')) };
  const logger = createLogger({ service: 'gateway-test', level: 'silent' });
  inProcess = await serveHttp(
    createGatewayApp({
      logger,
      upstream: createLlmClient({ baseURL: `${simServer.url}/v1`, maxRetries: 0 }),
      upstreamTimeoutMs: 5_000,
      router: createRouter({ local: createLocalRoutingClassifier({ threshold: 0.9 }), classifier: neverAsked, classifierTimeoutMs: 1_000 }),
      apiTokens: [],
    }),
    { host: '127.0.0.1', port: 0, logger, service: 'gateway' },
  );
  [withLocal, withoutLocal] = await Promise.all([
    startService({ name: 'gateway-local-on', entry: 'apps/gateway/src/main.ts', env }),
    startService({ name: 'gateway-local-off', entry: 'apps/gateway/src/main.ts', env: { ...env, ROUTING_LOCAL_CLASSIFIER: 'off' } }),
  ]);
}, 60_000);

afterEach(() => sim.state.reset());

afterAll(async () => {
  await stopAllServices();
  await inProcess.close(1_000);
  await telemetry.shutdown();
  await simServer.close(1_000);
  await redis.cleanup();
});

async function chat(gateway: ServiceProcess, messages: Array<{ role: string; content: string }>, requestId: string) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json', 'X-Request-ID': requestId },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
  });
  await response.arrayBuffer();
  expect(response.status).toBe(200);
  return parseRoutingDecisionHeader(response.headers.get('x-routing-decision') ?? '');
}

const classifierCalls = () => sim.state.requests.list().filter((request) => JSON.stringify(request.body).includes('routing_verdict')).length;

describe('the local routing classifier in the gateway', () => {
  it('answers an obvious question without a classifier call, says source=local, and logs the decision', async () => {
    const decision = await chat(withLocal, [{ role: 'user', content: 'What is the capital of France?' }], 'req-local-1');
    expect(decision).toMatchObject({ path: 'passthrough', source: 'local' });
    expect(decision?.reason).toMatch(/^local model: one reply can answer it \(0\.9\d\)$/);
    // One upstream call: the answer itself.
    expect(sim.state.requests.list()).toHaveLength(1);
    expect(classifierCalls()).toBe(0);
    const access = await withLocal.waitForLine((line) => line['msg'] === 'request' && line['request_id'] === 'req-local-1');
    expect(access['routing']).toMatchObject({ path: 'passthrough', source: 'local', confidence: expect.any(Number) as number });
  });

  it('asks the LLM classifier when the local stage abstains (a short follow-up)', async () => {
    const conversation = [
      { role: 'user', content: 'Find flights from Berlin to Rome for Friday' },
      { role: 'assistant', content: 'I can look that up. Shall I?' },
      { role: 'user', content: 'go ahead' },
    ];
    expect(await chat(withLocal, conversation, 'req-local-2')).toMatchObject({ source: 'classifier' });
    expect(classifierCalls()).toBe(1);
  });

  it('with ROUTING_LOCAL_CLASSIFIER=off, every auto-routed request goes to the LLM classifier', async () => {
    expect(await chat(withoutLocal, [{ role: 'user', content: 'What is the capital of France?' }], 'req-local-3')).toMatchObject({
      path: 'passthrough',
      source: 'classifier',
    });
    expect(classifierCalls()).toBe(1);
  });

  it('puts the local decision and its confidence on the request span', async () => {
    exporter.reset();
    const response = await fetch(`${inProcess.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Good morning!' }] }),
    });
    await response.arrayBuffer();
    expect(response.headers.get('x-routing-decision')).toBe('passthrough; source=local; reason="small talk: one reply answers it"');
    // sim-llm runs in this process too: the gateway's server span is the one with routing attributes.
    const server = exporter.getFinishedSpans().find((span) => span.name === 'POST /v1/chat/completions' && span.attributes['ensemble.routing.path'] !== undefined);
    expect(server?.attributes).toMatchObject({
      'ensemble.routing.path': 'passthrough',
      'ensemble.routing.source': 'local',
      'ensemble.routing.confidence': 1,
    });
  });
});
