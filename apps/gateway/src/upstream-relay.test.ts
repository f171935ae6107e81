import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';

import { describeUpstreamFailure } from './upstream-errors.js';
import { HttpPassthroughUpstream, type PassthroughCall } from './upstream-relay.js';

/**
 * `HttpPassthroughUpstream` against a real `node:http` upstream: what it sends, and that its failures are
 * the `openai` SDK's error classes, so `describeUpstreamFailure` maps them as it mapped the SDK's own.
 */
type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const servers: Server[] = [];
const relays: HttpPassthroughUpstream[] = [];
afterAll(async () => {
  for (const relay of relays) relay.close();
  await Promise.all(
    servers.map((server) => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }),
  );
});

async function upstream(handler: Handler, options: { timeoutMs?: number; apiKey?: string } = {}) {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const relay = new HttpPassthroughUpstream({
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs ?? 2_000,
  });
  relays.push(relay);
  return relay;
}

const call = (overrides: Partial<PassthroughCall> = {}): PassthroughCall => ({
  body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], provider_field: 1 }),
  stream: false,
  requestId: 'req-1',
  signal: new AbortController().signal,
  ...overrides,
});

const completion = JSON.stringify({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hello' } }] });

describe('HttpPassthroughUpstream', () => {
  it('posts the JSON as it is to /chat/completions with the key, the request id and trace headers', async () => {
    let seen: { url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const relay = await upstream(
      (req, body, res) => {
        seen = { url: req.url, headers: req.headers, body };
        res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'up-1' }).end(completion);
      },
      { apiKey: 'sk-test' },
    );
    const sent = call({ headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    const answer = await relay.send(sent);
    expect(answer).toMatchObject({ stream: false, status: 200, text: completion });
    expect(answer.headers['x-request-id']).toBe('up-1');
    expect(seen.url).toBe('/v1/chat/completions');
    expect(seen.body).toBe(sent.body);
    expect(seen.headers).toMatchObject({
      authorization: 'Bearer sk-test',
      'content-type': 'application/json',
      'x-request-id': 'req-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });

  it('hands an event stream over as it arrives, before the upstream finished', async () => {
    let finish: (() => void) | undefined;
    const relay = await upstream((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"a":1}\n\n');
      finish = () => res.end('data: [DONE]\n\n');
    });
    const answer = await relay.send(call({ stream: true }));
    if (!answer.stream) throw new Error('expected a stream');
    answer.body.setEncoding('utf8');
    const first = await new Promise<string>((resolve) => answer.body.once('data', resolve));
    expect(first).toBe('data: {"a":1}\n\n');
    let rest = '';
    answer.body.on('data', (chunk: string) => (rest += chunk));
    const ended = new Promise((resolve) => answer.body.once('end', resolve));
    finish?.();
    await ended;
    expect(rest).toBe('data: [DONE]\n\n');
  });

  it('throws an HTTP error as the SDK does: APIError with the status, the error object and back-off headers', async () => {
    const relay = await upstream((_req, _body, res) => {
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': '3', 'x-ratelimit-remaining-requests': '0' })
        .end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded', extra: true } }));
    });
    const error = await relay.send(call()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const failure = describeUpstreamFailure(error, { timeoutMs: 2_000 });
    expect(failure.status).toBe(429);
    expect(failure.body.error).toMatchObject({ message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded', extra: true });
    expect(failure.headers).toMatchObject({ 'retry-after': '3', 'x-ratelimit-remaining-requests': '0' });
  });

  it('maps an error status without an OpenAI body to our own error object', async () => {
    const relay = await upstream((_req, _body, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>'));
    const failure = describeUpstreamFailure(await relay.send(call({ stream: true })).catch((caught: unknown) => caught), { timeoutMs: 2_000 });
    expect(failure.status).toBe(502);
    expect(failure.body.error.message).toContain('HTTP 502');
    expect(JSON.stringify(failure.body)).not.toContain('<html>');
  });

  it('times out a JSON answer that does not complete in time (504), and closes that upstream connection', async () => {
    let upstreamClosed: Promise<unknown> | undefined;
    const relay = await upstream(
      (_req, _body, res) => {
        upstreamClosed = new Promise((resolve) => res.once('close', resolve));
        // Headers, then nothing: the whole JSON answer is what the timeout covers.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":');
      },
      { timeoutMs: 150 },
    );
    const error = await relay.send(call()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(describeUpstreamFailure(error, { timeoutMs: 150 })).toMatchObject({ status: 504, code: 'upstream_timeout' });
    await upstreamClosed;
  });

  it('maps a refused connection to 503 naming ECONNREFUSED', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const relay = new HttpPassthroughUpstream({ baseURL: `http://127.0.0.1:${port}/v1`, timeoutMs: 2_000 });
    relays.push(relay);
    const failure = describeUpstreamFailure(await relay.send(call()).catch((caught: unknown) => caught), { timeoutMs: 2_000 });
    expect(failure).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect(failure.body.error.message).toContain('ECONNREFUSED');
  });

  it('aborts the upstream call when the signal aborts before the answer, and fails the stream after it', async () => {
    const closed: Array<Promise<unknown>> = [];
    let arrived: () => void = () => undefined;
    const firstArrived = new Promise<void>((resolve) => (arrived = resolve));
    const relay = await upstream((req, _body, res) => {
      closed.push(new Promise((resolve) => res.once('close', resolve)));
      arrived();
      if (req.headers['x-request-id'] === 'streaming') res.writeHead(200, { 'content-type': 'text/event-stream' }).write('data: {}\n\n');
    });
    const before = new AbortController();
    const pending = relay.send(call({ signal: before.signal })).catch((caught: unknown) => caught);
    await firstArrived;
    before.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(describeUpstreamFailure(error, { timeoutMs: 2_000 }).clientGone).toBe(true);
    await closed[0];

    const during = new AbortController();
    const answer = await relay.send(call({ stream: true, requestId: 'streaming', signal: during.signal }));
    if (!answer.stream) throw new Error('expected a stream');
    const failed = new Promise<unknown>((resolve) => answer.body.once('error', resolve));
    during.abort();
    expect(await failed).toBeInstanceOf(OpenAI.APIUserAbortError);
    await closed[1];
  });

  it('reuses its keep-alive connection for the next call', async () => {
    const sockets = new Set<unknown>();
    const relay = await upstream((req, _body, res) => {
      sockets.add(req.socket);
      res.writeHead(200, { 'content-type': 'application/json' }).end(completion);
    });
    for (let index = 0; index < 3; index += 1) await relay.send(call());
    expect(sockets.size).toBe(1);
  });
});
