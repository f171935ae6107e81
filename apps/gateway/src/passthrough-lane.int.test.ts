import { request as httpRequest } from 'node:http';

import { createLlmClient } from '@ensemble/llm';
import { type RoutingClassifier, createLocalRoutingClassifier, createRouter } from '@ensemble/routing';
import { type RunningServer, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { collectingLogger } from '../../../test/support/logs.js';
import { createSimLlmApp } from '../../sim-llm/src/app.js';
import { createGateway } from './app.js';

/**
 * The gateway served as `main.ts` serves it (the app with the passthrough lane ahead of it) beside the
 * same app served alone. A request the lane serves must look the same to the client and in the logs as
 * when the app serves it; every request the lane declines must reach the app and get the app's answer.
 */
const TOKEN = 'lane-token';
const MAX_BODY_BYTES = 8 * 1024;
const sim = createSimLlmApp();
const servers: RunningServer[] = [];
const logs = collectingLogger('gateway-test', 'info');
/** Conversations the LLM classifier was asked about (what the lane must never need). */
const classified: string[] = [];
const classifier: RoutingClassifier = {
  classify: (conversation) => {
    classified.push(conversation);
    return Promise.resolve({ needs_orchestration: false, reason: 'one answer' });
  },
};

interface Served {
  url: string;
  /** Requests the app itself handled. */
  appRequests: number;
}
let withLane: Served;
let appOnly: Served;

beforeAll(async () => {
  const quiet = createLogger({ service: 'sim-llm', level: 'silent' });
  const simServer = await serveHttp(sim.app, { host: '127.0.0.1', port: 0, logger: quiet, service: 'sim-llm' });
  servers.push(simServer);
  const serve = async (lanes: boolean): Promise<Served> => {
    const { app, lanes: gatewayLanes } = createGateway({
      logger: logs.logger,
      upstream: createLlmClient({ baseURL: `${simServer.url}/v1`, apiKey: 'upstream-key', maxRetries: 0 }),
      upstreamTimeoutMs: 5_000,
      router: createRouter({ local: createLocalRoutingClassifier({ threshold: 0.9 }), classifier, classifierTimeoutMs: 1_000 }),
      apiTokens: [TOKEN],
      maxBodyBytes: MAX_BODY_BYTES,
    });
    const served = { url: '', appRequests: 0 };
    const counted = {
      fetch: (request: Request, bindings: Parameters<typeof app.fetch>[1]) => {
        served.appRequests += 1;
        return app.fetch(request, bindings);
      },
    };
    const server = await serveHttp(counted, { host: '127.0.0.1', port: 0, logger: quiet, service: 'gateway', ...(lanes ? { lanes: gatewayLanes } : {}) });
    servers.push(server);
    served.url = server.url;
    return served;
  };
  withLane = await serve(true);
  appOnly = await serve(false);
});

afterEach(() => {
  sim.state.reset();
  logs.lines.length = 0;
  classified.length = 0;
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close(1_000)));
});

const question = (content: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });

async function post(target: Served, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${target.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Everything but the per-request values (ids, time), so the lane's answer compares with the app's. */
function comparable(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!['date', 'x-request-id', 'x-upstream-request-id', 'content-length'].includes(name)) kept[name] = value;
  });
  return kept;
}

/** A JSON answer without the upstream's per-completion values. */
function withoutIds(text: string): Record<string, unknown> {
  const { id: _id, created: _created, ...rest } = JSON.parse(text) as Record<string, unknown>;
  return rest;
}

const accessLine = (requestId: string) => logs.waitForLine((line) => line['msg'] === 'request' && line['request_id'] === requestId);

describe('the passthrough lane', () => {
  it('serves a passthrough decided by a header with the answer, headers and access-log line the app gives it', async () => {
    const before = withLane.appRequests;
    const laneAnswer = await post(withLane, question('Say hi'), { 'X-Routing-Mode': 'passthrough', 'X-Request-ID': 'lane-json' });
    const appAnswer = await post(appOnly, question('Say hi'), { 'X-Routing-Mode': 'passthrough', 'X-Request-ID': 'app-json' });

    expect(withLane.appRequests - before).toBe(0);
    expect(laneAnswer.status).toBe(200);
    expect(laneAnswer.headers.get('x-request-id')).toBe('lane-json');
    // The upstream got the same request id (and says so back).
    expect(laneAnswer.headers.get('x-upstream-request-id')).toBe('lane-json');
    expect(comparable(laneAnswer.headers)).toEqual(comparable(appAnswer.headers));
    const [lane, app] = [JSON.parse(laneAnswer.text) as Record<string, unknown>, JSON.parse(appAnswer.text) as Record<string, unknown>];
    expect(lane['choices']).toEqual(app['choices']);

    const [laneLine, appLine] = await Promise.all([accessLine('lane-json'), accessLine('app-json')]);
    expect(Object.keys(laneLine).sort()).toEqual(Object.keys(appLine).sort());
    expect(laneLine).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200, routing: { path: 'passthrough', source: 'header' } });
  });

  it('serves what the local classifier decides alone, and never asks the LLM classifier', async () => {
    const before = withLane.appRequests;
    const answer = await post(withLane, question('hi'), { 'X-Request-ID': 'lane-local' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-routing-decision')).toContain('source=local');
    expect(withLane.appRequests - before).toBe(0);
    expect(classified).toEqual([]);
    expect(await accessLine('lane-local')).toMatchObject({ routing: { path: 'passthrough', source: 'local' } });
  });

  it('relays a stream to [DONE] and writes its access-log line when the stream ends', async () => {
    sim.state.scripts.add({ match: { contains: 'count' }, reply: { content: 'one two three' } });
    const before = withLane.appRequests;
    const answer = await post(withLane, question('count to three', { stream: true }), { 'X-Routing-Mode': 'passthrough', 'X-Request-ID': 'lane-stream' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/event-stream');
    expect(answer.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(withLane.appRequests - before).toBe(0);
    expect(await accessLine('lane-stream')).toMatchObject({ status: 200, streamed: true, routing: { path: 'passthrough' } });
  });

  it("answers the upstream's error as the app does", async () => {
    sim.state.scripts.add({ match: { contains: 'busy' }, reply: { error: { status: 429, message: 'Slow down', type: 'rate_limit_error', retryAfterSeconds: 3 } } });
    const before = withLane.appRequests;
    const lane = await post(withLane, question('busy?'), { 'X-Routing-Mode': 'passthrough' });
    const app = await post(appOnly, question('busy?'), { 'X-Routing-Mode': 'passthrough' });
    expect(withLane.appRequests - before).toBe(0);
    expect(lane.status).toBe(429);
    expect(lane.headers.get('retry-after')).toBe('3');
    expect(JSON.parse(lane.text)).toEqual(JSON.parse(app.text));
    expect(comparable(lane.headers)).toEqual(comparable(app.headers));
  });

  it('aborts the upstream call when the client leaves before the answer', async () => {
    sim.state.scripts.add({ match: { contains: 'never' }, reply: { hang: true } });
    const body = question('never');
    const before = withLane.appRequests;
    const request = httpRequest(`${withLane.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-routing-mode': 'passthrough' },
    });
    request.on('error', () => undefined);
    request.end(body);
    await sim.state.requests.waitFor({ count: 1, timeoutMs: 5_000 });
    request.destroy();
    await sim.state.requests.waitFor({ count: 1, aborted: true, timeoutMs: 5_000 });
    expect(withLane.appRequests - before).toBe(0);
  });

  it('leaves every request it cannot serve to the app, which answers it exactly as it would alone', async () => {
    const cases: Array<{ name: string; body: string; headers?: Record<string, string>; status: number }> = [
      { name: 'no token', body: question('hi'), headers: { Authorization: '' }, status: 401 },
      { name: 'wrong token', body: question('hi'), headers: { Authorization: 'Bearer nope' }, status: 401 },
      { name: 'not JSON', body: '{"model":', status: 400 },
      { name: 'not a chat request', body: JSON.stringify({ model: 'gpt-4o-mini', messages: 'hi' }), status: 400 },
      { name: 'bad routing header', body: question('hi'), headers: { 'X-Routing-Mode': 'sometimes' }, status: 400 },
      { name: 'orchestration by header', body: question('hi'), headers: { 'X-Routing-Mode': 'orchestration' }, status: 501 },
      { name: 'orchestration by the local classifier', body: question('Compare Redis and Postgres'), status: 501 },
      { name: 'a session', body: question('hi'), headers: { 'X-Session-ID': 'session-1' }, status: 501 },
      { name: 'a session routed to passthrough', body: question('hi'), headers: { 'X-Session-ID': 'session-2', 'X-Routing-Mode': 'passthrough' }, status: 200 },
      { name: 'a malformed session', body: question('hi'), headers: { 'X-Session-ID': 'bad id!' }, status: 400 },
      { name: 'too large', body: question('x'.repeat(MAX_BODY_BYTES)), headers: { 'X-Routing-Mode': 'passthrough' }, status: 413 },
    ];
    for (const { name, body, headers, status } of cases) {
      const before = withLane.appRequests;
      const lane = await post(withLane, body, headers);
      const app = await post(appOnly, body, headers);
      expect({ name, status: lane.status }).toEqual({ name, status });
      expect({ name, appServed: withLane.appRequests - before }).toEqual({ name, appServed: 1 });
      expect({ name, body: withoutIds(lane.text) }).toEqual({ name, body: withoutIds(app.text) });
      expect({ name, headers: comparable(lane.headers) }).toEqual({ name, headers: comparable(app.headers) });
    }
  });

  it('leaves a request that needs the LLM classifier to the app, with its body intact', async () => {
    // The local classifier is unsure about this one (about 0.6).
    const ambiguous = 'Help me with the report';
    const before = withLane.appRequests;
    const answer = await post(withLane, question(ambiguous));
    expect(withLane.appRequests - before).toBe(1);
    expect(classified).toHaveLength(1);
    expect(classified[0]).toContain(ambiguous);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-routing-decision')).toContain('source=classifier');
  });

  it('leaves a body of unknown length (chunked) to the app, which reads it as it arrives', async () => {
    const body = question('Say hi');
    const before = withLane.appRequests;
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        `${withLane.url}/v1/chat/completions`,
        { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-routing-mode': 'passthrough' } },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      request.on('error', reject);
      // Two writes without a Content-Length: Node sends them chunked.
      request.write(body.slice(0, 10));
      request.end(body.slice(10));
    });
    expect(status).toBe(200);
    expect(withLane.appRequests - before).toBe(1);
  });
});
