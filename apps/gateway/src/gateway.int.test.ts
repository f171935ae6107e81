import { createServer } from 'node:net';
import { Writable } from 'node:stream';

import { createLlmClient, upstreamReadiness } from '@ensemble/llm';
import { ChatCompletionResponse } from '@ensemble/protocol';
import { LlmRoutingClassifier, type RouterOptions, createRouter, parseRoutingDecisionHeader } from '@ensemble/routing';
import { type RunningServer, createNodeFetch, redisReadiness, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { testRedis } from '../../../test/support/redis.js';
import { createSimLlmApp } from '../../sim-llm/src/app.js';
import { type GatewayDeps, createGateway } from './app.js';

/**
 * The gateway over real HTTP, served as `main.ts` serves it (the app behind the passthrough lane), in
 * front of sim-llm (the project's OpenAI-compatible test double), with the official `openai` SDK as the
 * client: what a user's application would see.
 */
const API_TOKEN = 'client-token-123';
const UPSTREAM_KEY = 'upstream-key-456';

const sim = createSimLlmApp();
const servers: RunningServer[] = [];
const logLines: Record<string, unknown>[] = [];
const logger = createLogger({
  service: 'gateway-test',
  level: 'info',
  destination: new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  }),
});
const redis = testRedis();
// The transport main.ts uses, so these tests cover it (aborts, connection errors, trace headers).
const upstreamFetch = createNodeFetch({ claimableStreams: true });
let simUrl: string;
let gatewayUrl: string;
let client: OpenAI;

async function startGateway(overrides: Partial<GatewayDeps> & { upstreamUrl?: string; classifierTimeoutMs?: number; router?: RouterOptions } = {}) {
  const upstreamTimeoutMs = overrides.upstreamTimeoutMs ?? 5_000;
  const upstream = createLlmClient({
    baseURL: overrides.upstreamUrl ?? `${simUrl}/v1`,
    apiKey: UPSTREAM_KEY,
    timeoutMs: upstreamTimeoutMs,
    maxRetries: 0,
    fetch: upstreamFetch.fetch,
  });
  const classifierClient = createLlmClient({ baseURL: `${simUrl}/v1`, apiKey: UPSTREAM_KEY, maxRetries: 0, fetch: upstreamFetch.fetch });
  const router = createRouter({
    classifier: new LlmRoutingClassifier({ client: classifierClient, model: 'gpt-4o-mini', temperature: 0 }),
    classifierTimeoutMs: overrides.classifierTimeoutMs ?? 5_000,
  });
  const { app, lanes } = createGateway({
    logger,
    upstream,
    upstreamTimeoutMs,
    router,
    apiTokens: [API_TOKEN],
    maxBodyBytes: 64 * 1024,
    readinessChecks: [upstreamReadiness(upstream), redisReadiness(redis.redis)],
    ...overrides,
  });
  const server = await serveHttp(app, { host: '127.0.0.1', port: 0, logger, service: 'gateway', lanes });
  servers.push(server);
  return server.url;
}

beforeAll(async () => {
  const simServer = await serveHttp(sim.app, { host: '127.0.0.1', port: 0, logger, service: 'sim-llm' });
  servers.push(simServer);
  simUrl = simServer.url;
  gatewayUrl = await startGateway();
  client = new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: API_TOKEN, maxRetries: 0 });
});

afterEach(() => {
  sim.state.reset();
  logLines.length = 0;
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close(1_000)));
  upstreamFetch.close();
  await redis.cleanup();
});

const passthrough = { headers: { 'X-Routing-Mode': 'passthrough' } };
const question = (content: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content }] });

/** A raw `fetch` against the gateway, for requests the SDK refuses to send (bad JSON, bad types). */
async function raw(path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${gatewayUrl}${path}`, {
    method: init.method ?? 'POST',
    headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('simple path (passthrough)', () => {
  it('answers a simple question through the classifier, relaying the upstream completion', async () => {
    const { data, response } = await client.chat.completions.create(question('What is the capital of France?')).withResponse();
    expect(ChatCompletionResponse.parse(data).choices[0]?.message.content).toEqual(expect.any(String));
    expect(parseRoutingDecisionHeader(response.headers.get('x-routing-decision') ?? '')).toMatchObject({ path: 'passthrough', source: 'classifier' });

    const requests = sim.state.requests.list();
    expect(requests).toHaveLength(2);
    expect(requests[0]?.body).toMatchObject({ response_format: { json_schema: { name: 'routing_verdict' } } });
    expect(requests[1]?.body).toEqual(question('What is the capital of France?'));
    // The gateway's own key goes upstream, never the client's token; the request id travels along.
    expect(requests[1]?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(requests[1]?.headers['x-request-id']).toBe(response.headers.get('x-request-id'));
  });

  it('streams chunk by chunk as the upstream produces them, ending with [DONE]', async () => {
    sim.state.scripts.add({ match: { contains: 'count slowly' }, reply: { content: 'one two three four', tokensPerSecond: 50 } });
    const { data: stream, response } = await client.chat.completions
      .create({ ...question('count slowly'), stream: true, stream_options: { include_usage: true } }, { headers: { ...passthrough.headers, 'X-Session-ID': 'stream-1' } })
      .withResponse();
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-routing-decision')).toBe('passthrough; source=header; reason="X-Routing-Mode: passthrough"');
    expect(response.headers.get('x-session-id')).toBe('stream-1');
    const pieces: string[] = [];
    let upstreamFinishedAtFirstChunk: boolean | undefined;
    let usage: unknown;
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta.content;
      if (text) {
        // No buffering: the first word reaches the client while the upstream is still generating.
        upstreamFinishedAtFirstChunk ??= sim.state.requests.list()[0]?.finishedAt !== undefined;
        pieces.push(text);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(pieces).toEqual(['one ', 'two ', 'three ', 'four']);
    expect(upstreamFinishedAtFirstChunk).toBe(false);
    expect(usage).toMatchObject({ completion_tokens: expect.any(Number) as number });
  });

  it('passes tools through untouched, unknown fields included, and relays tool calls', async () => {
    sim.state.scripts.add({ match: { hasTools: true }, reply: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] } });
    const params: ChatCompletionCreateParamsNonStreaming & { provider_specific: unknown } = {
      ...question('Weather in Paris?'),
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      tool_choice: 'auto',
      metadata: { team: 'a' },
      provider_specific: { nested: [1, { deep: true }] },
    };
    const { data, response } = await client.chat.completions.create(params).withResponse();
    expect(data.choices[0]?.finish_reason).toBe('tool_calls');
    const call = data.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : undefined).toEqual({ city: 'Paris' });
    expect(parseRoutingDecisionHeader(response.headers.get('x-routing-decision') ?? '')).toMatchObject({ path: 'passthrough', source: 'rule' });
    // Exactly one upstream call (no classifier) with the body exactly as the client sent it.
    const requests = sim.state.requests.list();
    expect(requests).toHaveLength(1);
    expect(requests[0]?.body).toEqual(params);
  });

  it('passes response_format json_schema through and returns schema-valid JSON', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false };
    const { data, response } = await client.chat.completions
      .create({ ...question('2+2?'), response_format: { type: 'json_schema', json_schema: { name: 'sum', schema, strict: true } } })
      .withResponse();
    expect(JSON.parse(data.choices[0]?.message.content ?? '')).toEqual({ answer: expect.any(Number) as number });
    expect(response.headers.get('x-routing-decision')).toMatch(/^passthrough; source=rule; reason=".*response_format/);
    expect(sim.state.requests.list()[0]?.body).toMatchObject({ response_format: { json_schema: { name: 'sum', schema } } });
  });

  it('lists the upstream models', async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toContain('gpt-4o-mini');
  });
});

describe('upstream errors', () => {
  it('forwards a 429 with its OpenAI error body and Retry-After', async () => {
    sim.state.scripts.add({
      match: { contains: 'busy' },
      reply: { error: { status: 429, message: 'Rate limit reached for gpt-4o-mini', type: 'rate_limit_error', code: 'rate_limit_exceeded', retryAfterSeconds: 7 } },
    });
    const error = await client.chat.completions.create(question('busy?'), passthrough).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.error).toMatchObject({ message: 'Rate limit reached for gpt-4o-mini', type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(rateLimit.headers.get('retry-after')).toBe('7');
    expect(rateLimit.headers.get('x-routing-decision')).toContain('passthrough');
  });

  it('forwards upstream 4xx and 5xx statuses with their bodies, for streaming requests too', async () => {
    sim.state.scripts.add({ match: { contains: 'bad-param' }, reply: { error: { status: 400, message: "Unsupported value: 'temperature'", code: 'unsupported_value' } } });
    sim.state.scripts.add({ match: { contains: 'crash' }, reply: { error: { status: 500, message: 'The server had an error' } } });
    const bad = await raw('/v1/chat/completions', { body: JSON.stringify(question('bad-param')), headers: passthrough.headers });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { message: "Unsupported value: 'temperature'", code: 'unsupported_value' } });
    const crashed = await raw('/v1/chat/completions', { body: JSON.stringify({ ...question('crash'), stream: true }), headers: passthrough.headers });
    expect(crashed.status).toBe(500);
    expect(crashed.headers.get('content-type')).toContain('application/json');
    expect(crashed.json).toMatchObject({ error: { message: 'The server had an error' } });
  });

  it('turns a stream cut mid-way into a final SSE error event, after the chunks already sent', async () => {
    sim.state.scripts.add({ match: { contains: 'cut me' }, reply: { content: 'alpha beta gamma delta epsilon', cutAfterChunks: 2, tokensPerSecond: 200 } });
    const stream = await client.chat.completions.create({ ...question('cut me'), stream: true }, passthrough);
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((caught: unknown) => caught);
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThanOrEqual(2);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' });
  });

  it('answers 503 when the upstream is unreachable and 504 when it does not answer in time', async () => {
    const downUrl = await startGateway({ upstreamUrl: `http://127.0.0.1:${await unusedPort()}/v1` });
    const down = await fetch(`${downUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_TOKEN}`, 'X-Routing-Mode': 'passthrough' },
      body: JSON.stringify(question('hello')),
    });
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: { type: 'service_unavailable_error', code: 'upstream_unavailable' } });

    const slowUrl = await startGateway({ upstreamTimeoutMs: 200 });
    sim.state.scripts.add({ match: { contains: 'slow' }, reply: { content: 'late', delayMs: 10_000 } });
    const slow = await fetch(`${slowUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_TOKEN}`, 'X-Routing-Mode': 'passthrough' },
      body: JSON.stringify(question('slow')),
    });
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ error: { code: 'upstream_timeout', message: expect.stringContaining('200 ms') as string } });
    // The gateway gave up, so the upstream call was aborted rather than left running.
    await sim.state.requests.waitFor({ count: 1, aborted: true, timeoutMs: 5_000 });
  });
});

describe('client disconnect', () => {
  it('aborts the upstream stream when the client goes away mid-stream', async () => {
    sim.state.scripts.add({ match: { contains: 'long story' }, reply: { content: 'once upon a time there was a very long story', tokensPerSecond: 5 } });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ ...question('long story'), stream: true }, { ...passthrough, signal: controller.signal });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) break; // `break` closes the connection, as a user closing a tab would.
    }
    const [aborted] = await sim.state.requests.waitFor({ count: 1, aborted: true, timeoutMs: 5_000 });
    expect(aborted?.body).toMatchObject({ messages: [{ content: 'long story' }] });
  });

  it('aborts the upstream call when the client leaves before the upstream answered', async () => {
    sim.state.scripts.add({ match: { contains: 'never' }, reply: { hang: true } });
    const controller = new AbortController();
    const pending = client.chat.completions.create(question('never'), { ...passthrough, signal: controller.signal }).catch((caught: unknown) => caught);
    await sim.state.requests.waitFor({ count: 1, timeoutMs: 5_000 });
    controller.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    await sim.state.requests.waitFor({ count: 1, aborted: true, timeoutMs: 5_000 });
  });
});

describe('routing', () => {
  it('sends a multi-step request to orchestration, which answers 501 until the orchestrator exists', async () => {
    const ask = question('Research the three most popular vector databases, compare their pricing, and then write a recommendation report.');
    const first = await raw('/v1/chat/completions', { body: JSON.stringify(ask) });
    expect(first.status).toBe(501);
    expect(first.json).toMatchObject({ error: { code: 'orchestration_unavailable', type: 'not_implemented_error' } });
    expect(parseRoutingDecisionHeader(first.headers.get('x-routing-decision') ?? '')).toMatchObject({ path: 'orchestration', source: 'classifier' });
    // The same conversation again: the cached verdict, no second classifier call.
    const second = await raw('/v1/chat/completions', { body: JSON.stringify(ask) });
    expect(parseRoutingDecisionHeader(second.headers.get('x-routing-decision') ?? '')).toMatchObject({ path: 'orchestration', cached: true });
    expect(sim.state.requests.list()).toHaveLength(1);
  });

  it('forces orchestration with X-Routing-Mode and logs the decision with request and session ids', async () => {
    const response = await raw('/v1/chat/completions', {
      body: JSON.stringify(question('hi')),
      headers: { 'X-Routing-Mode': 'orchestration', 'X-Session-ID': 'sess-42', 'X-Request-ID': 'req-routing-1' },
    });
    expect(response.status).toBe(501);
    expect(response.headers.get('x-routing-decision')).toBe('orchestration; source=header; reason="X-Routing-Mode: orchestration"');
    expect(response.headers.get('x-session-id')).toBe('sess-42');
    // The decision is on the request's access-log line.
    expect(logLines.find((line) => line['msg'] === 'request' && line['request_id'] === 'req-routing-1')).toMatchObject({
      status: 501,
      session_id: 'sess-42',
      routing: { path: 'orchestration', source: 'header' },
    });
    expect(sim.state.requests.list()).toHaveLength(0);
  });

  it('falls back to passthrough when the classifier fails, and says so', async () => {
    sim.state.scripts.add({ match: { schemaName: 'routing_verdict' }, reply: { error: { status: 500, message: 'classifier down' } }, times: 1 });
    const { response } = await client.chat.completions.create(question('Plan a three-city trip and book hotels')).withResponse();
    expect(response.status).toBe(200);
    expect(parseRoutingDecisionHeader(response.headers.get('x-routing-decision') ?? '')).toEqual({
      path: 'passthrough',
      source: 'fallback',
      reason: 'classifier failed (upstream_error); answering directly',
    });
    expect(logLines.find((line) => line['msg'] === 'routing fell back to passthrough')).toMatchObject({ level: 'warn', routing: { source: 'fallback' } });
  });

  it('falls back to passthrough when the classifier is slower than its deadline', async () => {
    const hastyUrl = await startGateway({ classifierTimeoutMs: 100 });
    sim.state.scripts.add({ match: { schemaName: 'routing_verdict' }, reply: { hang: true }, times: 1 });
    const response = await fetch(`${hastyUrl}/v1/chat/completions`, { method: 'POST', headers: { Authorization: `Bearer ${API_TOKEN}` }, body: JSON.stringify(question('hello there')) });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-routing-decision')).toBe('passthrough; source=fallback; reason="classifier timed out after 100 ms; answering directly"');
    // The abandoned classifier call was aborted upstream, not left hanging.
    await sim.state.requests.waitFor({ count: 1, aborted: true, timeoutMs: 5_000 });
  });
});

describe('auth and bad input', () => {
  it('requires a valid bearer token on /v1 routes but not on probes', async () => {
    const missing = await fetch(`${gatewayUrl}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(question('hi')) });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { type: 'authentication_error', code: 'missing_api_key' } });
    const wrong = new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: 'nope', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    expect((await fetch(`${gatewayUrl}/health`)).status).toBe(200);
    expect(sim.state.requests.list()).toHaveLength(0);
  });

  it.each([
    ['invalid JSON', '{"model": "m", "messages": [', 'invalid_json', undefined],
    ['a JSON array', '[1, 2]', 'invalid_request_body', ''],
    ['missing messages', JSON.stringify({ model: 'm' }), 'invalid_request_body', 'messages'],
    ['empty messages', JSON.stringify({ model: 'm', messages: [] }), 'invalid_request_body', 'messages'],
    ['an unknown role', JSON.stringify({ model: 'm', messages: [{ role: 'robot', content: 'x' }] }), 'invalid_request_body', 'messages.0.role'],
    ['a string temperature', JSON.stringify({ ...question('x'), temperature: 'hot' }), 'invalid_request_body', 'temperature'],
    ['stream as a string', JSON.stringify({ ...question('x'), stream: 'yes' }), 'invalid_request_body', 'stream'],
  ])('answers %s with a 400 OpenAI error naming the field', async (_name, body, code, param) => {
    const response = await raw('/v1/chat/completions', { body });
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ error: { type: 'invalid_request_error', code } });
    if (param !== undefined) expect((response.json?.['error'] as { param: unknown }).param).toBe(param);
  });

  it('rejects bad routing and session headers with a 400, and oversized bodies with a 413', async () => {
    const mode = await raw('/v1/chat/completions', { body: JSON.stringify(question('x')), headers: { 'X-Routing-Mode': 'turbo' } });
    expect(mode.status).toBe(400);
    expect(mode.json).toMatchObject({ error: { code: 'invalid_routing_mode', param: 'X-Routing-Mode' } });
    const conflict = await raw('/v1/chat/completions', {
      body: JSON.stringify({ ...question('x'), response_format: { type: 'json_object' } }),
      headers: { 'X-Routing-Mode': 'orchestration' },
    });
    expect(conflict.status).toBe(400);
    expect(conflict.json).toMatchObject({ error: { code: 'conflicting_routing_options' } });
    const session = await raw('/v1/chat/completions', { body: JSON.stringify(question('x')), headers: { 'X-Session-ID': 'not a valid id!' } });
    expect(session.status).toBe(400);
    expect(session.json).toMatchObject({ error: { code: 'invalid_session_id' } });
    const huge = await raw('/v1/chat/completions', { body: JSON.stringify(question('x'.repeat(100 * 1024))) });
    expect(huge.status).toBe(413);
    expect(huge.json).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(sim.state.requests.list()).toHaveLength(0);
  });
});

describe('probes and documents', () => {
  it('reports ready when the upstream and Redis answer, and names the failing check when not', async () => {
    const ready = await raw('/ready', { method: 'GET' });
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ status: 'ready', checks: { upstream: { status: 'ok' }, redis: { status: 'ok' } } });

    const downUrl = await startGateway({ upstreamUrl: `http://127.0.0.1:${await unusedPort()}/v1` });
    const notReady = await fetch(`${downUrl}/ready`);
    expect(notReady.status).toBe(503);
    const report = (await notReady.json()) as { status: string; checks: Record<string, { status: string; error?: string }> };
    expect(report.status).toBe('not_ready');
    expect(report.checks['upstream']).toMatchObject({ status: 'fail', error: expect.stringContaining('unreachable') as string });
    expect(report.checks['redis']?.status).toBe('ok');
  });

  it('serves an OpenAPI 3.1 document built from the request schemas', async () => {
    const document = (await (await fetch(`${gatewayUrl}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
    };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/models', '/health', '/ready']));
    const request = document.components.schemas['ChatCompletionRequest'];
    expect(request?.required).toEqual(expect.arrayContaining(['model', 'messages']));
    expect(request?.properties).toHaveProperty('response_format');
    expect(JSON.stringify(document)).not.toContain('"$schema"');
  });
});
