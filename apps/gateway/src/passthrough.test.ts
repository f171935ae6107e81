import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

import { createLlmClient } from '@ensemble/llm';
import { createRouter } from '@ensemble/routing';
import { serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import type OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';

import { createGateway } from './app.js';
import { HttpPassthroughUpstream, type PassthroughAnswer, type PassthroughUpstream } from './upstream-relay.js';

/**
 * Stream endings sim-llm cannot produce (a clean end without `finish_reason`, an in-band error event),
 * both ways the gateway serves a stream: in-process (a scripted upstream, the app's relay into a pass-through)
 * and served (a real upstream socket through `HttpPassthroughUpstream`, the lane's Node stream to the client socket).
 */
const logger = createLogger({ service: 'test', level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
});

function gateway(upstream: OpenAI, passthroughUpstream?: PassthroughUpstream) {
  return createGateway({
    logger,
    upstream,
    ...(passthroughUpstream === undefined ? {} : { passthroughUpstream }),
    upstreamTimeoutMs: 1_000,
    router: createRouter({ classifier: { classify: () => Promise.reject(new Error('unused')) }, classifierTimeoutMs: 100 }),
    apiTokens: [],
  });
}

const sseBody = (events: string[]) => events.map((event) => `data: ${event}\n\n`).join('');
const requestInit = (body: Record<string, unknown>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-routing-mode': 'passthrough' },
  body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, ...body }),
});

type Send = (body: Record<string, unknown>) => Promise<Response>;

/** A scripted upstream: every call is answered with `events` as one event stream. */
class ScriptedUpstream implements PassthroughUpstream {
  constructor(private readonly events: string[]) {}
  send(): Promise<PassthroughAnswer> {
    return Promise.resolve({ stream: true, status: 200, headers: { 'content-type': 'text/event-stream' }, body: Readable.from([Buffer.from(sseBody(this.events))]) });
  }
  close(): void {}
}

function inProcess(events: string[]): Promise<Send> {
  const { app } = gateway(createLlmClient({ baseURL: 'http://upstream.invalid/v1', maxRetries: 0 }), new ScriptedUpstream(events));
  return Promise.resolve((body) => Promise.resolve(app.request('/v1/chat/completions', requestInit(body))));
}

async function served(events: string[]): Promise<Send> {
  const upstreamServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sseBody(events)));
  });
  await new Promise<void>((resolve) => upstreamServer.listen(0, '127.0.0.1', resolve));
  const baseURL = `http://127.0.0.1:${(upstreamServer.address() as AddressInfo).port}/v1`;
  const relay = new HttpPassthroughUpstream({ baseURL, timeoutMs: 1_000 });
  // Served as `main.ts` serves it: these header-routed requests take the passthrough lane.
  const { app, lanes } = gateway(createLlmClient({ baseURL, maxRetries: 0 }), relay);
  const served = await serveHttp(app, { host: '127.0.0.1', port: 0, logger, service: 'gateway', lanes });
  cleanups.push(async () => {
    await served.close();
    relay.close();
    upstreamServer.closeAllConnections();
    await new Promise<void>((resolve) => upstreamServer.close(() => resolve()));
  });
  return (body) => fetch(`${served.url}/v1/chat/completions`, requestInit(body));
}

const chunk = (content: string, finish: string | null = null) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: finish }] });

function dataLines(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice('data: '.length));
}

describe.each([
  { mode: 'in-process', relay: inProcess },
  { mode: 'served', relay: served },
])('streamed passthrough endings ($mode)', ({ relay }) => {
  it('relays every event, unknown fields included, and ends with [DONE]', async () => {
    const withExtra = JSON.stringify({ ...(JSON.parse(chunk('b', 'stop')) as object), provider_field: { x: 1 } });
    const response = await (await relay([chunk('a'), withExtra, '[DONE]']))({});
    expect(response.status).toBe(200);
    const lines = dataLines(await response.text());
    expect(lines.map((line) => (line === '[DONE]' ? line : (JSON.parse(line) as object)))).toEqual([JSON.parse(chunk('a')), JSON.parse(withExtra), '[DONE]']);
  });

  it('reports a stream that ends before finish_reason as an error event instead of [DONE]', async () => {
    const response = await (await relay([chunk('partial')]))({});
    const lines = dataLines(await response.text());
    expect(lines).toHaveLength(2);
    expect(lines).not.toContain('[DONE]');
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_error' } });
  });

  it("relays the upstream's in-band error event and stops", async () => {
    const upstreamError = JSON.stringify({ error: { message: 'model overloaded', type: 'server_error', param: null, code: 'overloaded' } });
    const response = await (await relay([chunk('a'), upstreamError, chunk('never sent', 'stop'), '[DONE]']))({});
    const lines = dataLines(await response.text());
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1] ?? '')).toEqual({ error: { message: 'model overloaded', type: 'server_error', param: null, code: 'overloaded' } });
  });
});

describe('streamed passthrough, client gone (in-process)', () => {
  it('stops reading the upstream (which aborts its call) when the client cancels the body mid-stream', async () => {
    const upstreamBody = new Readable({ read() {} });
    upstreamBody.push(Buffer.from(sseBody([chunk('first')])));
    const destroyed = new Promise<void>((resolve) => upstreamBody.once('close', () => resolve()));
    const upstream: PassthroughUpstream = {
      send: () => Promise.resolve({ stream: true, status: 200, headers: { 'content-type': 'text/event-stream' }, body: upstreamBody }),
      close() {},
    };
    const { app } = gateway(createLlmClient({ baseURL: 'http://upstream.invalid/v1', maxRetries: 0 }), upstream);
    const response = await app.request('/v1/chat/completions', requestInit({}));
    const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(dataLines(first)).toEqual([chunk('first')]);
    await reader.cancel();
    await destroyed;
    expect(upstreamBody.destroyed).toBe(true);
  });
});
