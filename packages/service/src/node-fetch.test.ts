import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { claimNodeBody, createNodeFetch } from './node-fetch.js';

/**
 * Transport semantics the `openai` SDK relies on, checked against a bare `node:http` server with exact
 * control over the socket (sim-llm covers the OpenAI behaviour in the integration tests).
 */
type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const handlers = new Map<string, Handler>();
const seen: Array<{ path: string; headers: IncomingMessage['headers']; body: string; closedEarly: boolean }> = [];
let server: Server;
let base: string;
const upstream = createNodeFetch();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const record = { path: req.url ?? '', headers: req.headers, body, closedEarly: false };
      seen.push(record);
      res.on('close', () => (record.closedEarly = !res.writableFinished));
      handlers.get(req.url ?? '')?.(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  handlers.set('/json', (_req, body, res) => res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'up-1' }).end(JSON.stringify({ echo: body })));
  handlers.set('/sse', (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: 1\n\n');
    handlers.set('/sse-more', (_req2, _body2, trigger) => {
      res.end('data: 2\n\n');
      trigger.end();
    });
  });
  handlers.set('/half', (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"half": ');
    setImmediate(() => res.destroy());
  });
  handlers.set('/hang', () => undefined);
});

afterAll(async () => {
  upstream.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('createNodeFetch', () => {
  it('sends method, headers and body once, with a content length, and returns status, headers and body', async () => {
    const response = await upstream.fetch(`${base}/json`, { method: 'POST', headers: new Headers({ Authorization: 'Bearer k', 'X-Extra': 'a' }), body: '{"é":1}' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('up-1');
    expect(await response.json()).toEqual({ echo: '{"é":1}' });
    const request = seen.at(-1);
    expect(request?.headers).toMatchObject({ authorization: 'Bearer k', 'x-extra': 'a', 'content-length': String(Buffer.byteLength('{"é":1}')) });
  });

  it('hands event streams over before they end', async () => {
    const response = await upstream.fetch(`${base}/sse`, { method: 'POST', body: '{}' });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 1\n\n');
    // Only now does the server send the rest: the first event was not held back.
    await upstream.fetch(`${base}/sse-more`, { method: 'POST', body: '{}' });
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 2\n\n');
    expect((await reader.read()).done).toBe(true);
  });

  it('with claimableStreams, hands an event stream over as a Node stream, or as a web body when read first', async () => {
    handlers.set('/sse-whole', (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: 1\n\ndata: 2\n\n');
    });
    const claiming = createNodeFetch({ claimableStreams: true });
    try {
      const claimed = await claiming.fetch(`${base}/sse-whole`, { method: 'POST', body: '{}' });
      const stream = claimNodeBody(claimed);
      let text = '';
      for await (const chunk of stream!) text += String(chunk);
      expect(text).toBe('data: 1\n\ndata: 2\n\n');
      expect(claimNodeBody(claimed)).toBeUndefined();

      const read = await claiming.fetch(`${base}/sse-whole`, { method: 'POST', body: '{}' });
      expect(await read.text()).toBe('data: 1\n\ndata: 2\n\n');
      expect(claimNodeBody(read)).toBeUndefined();
      // Only event streams are claimable, and only from a fetch that offers it.
      expect(claimNodeBody(await claiming.fetch(`${base}/json`, { method: 'POST', body: '{}' }))).toBeUndefined();
      expect(claimNodeBody(await upstream.fetch(`${base}/sse-whole`, { method: 'POST', body: '{}' }))).toBeUndefined();
    } finally {
      claiming.close();
    }
  });

  it('rejects like fetch (TypeError with the socket error as cause) when the connection drops mid-body', async () => {
    const error = await upstream.fetch(`${base}/half`, { method: 'POST', body: '{}' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe('fetch failed');
  });

  it('rejects with the socket error code for refused connections', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const error = await upstream.fetch(`http://127.0.0.1:${port}/x`, { method: 'POST', body: '{}' }).catch((caught: unknown) => caught);
    expect(((error as TypeError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('rejects with an AbortError and closes the connection when the signal aborts', async () => {
    const controller = new AbortController();
    const pending = upstream.fetch(`${base}/hang`, { method: 'POST', body: '{}', signal: controller.signal }).catch((caught: unknown) => caught);
    await expect.poll(() => seen.some((request) => request.path === '/hang')).toBe(true);
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await expect.poll(() => seen.find((request) => request.path === '/hang')?.closedEarly).toBe(true);
    await expect(upstream.fetch(`${base}/json`, { method: 'POST', body: '{}', signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('errors a streamed body that is being read when the signal aborts', async () => {
    const controller = new AbortController();
    handlers.set('/sse2', (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    });
    const response = await upstream.fetch(`${base}/sse2`, { method: 'POST', body: '{}', signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
  });
});
