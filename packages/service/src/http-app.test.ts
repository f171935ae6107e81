import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';
import type { Context } from 'hono';
import { z } from 'zod';

import { bearerAuth, principalOf } from './auth.js';
import { NODE_STREAM_RESPONSE, type ServiceEnv, createHttpApp, readJsonBody, writeNodeStreamHead } from './http-app.js';
import { serveHttp } from './serve.js';
import { collectingLogger } from '../../../test/support/logs.js';


describe('createHttpApp', () => {
  it('echoes a valid X-Request-ID and stamps it on every log line of the request', async () => {
    const { logger, lines } = collectingLogger();
    const app = createHttpApp({ logger });
    app.get('/hello', (c) => {
      c.var.logger.info('inside handler');
      return c.text('hi');
    });
    const response = await app.request('/hello', { headers: { 'X-Request-ID': 'req-123' } });
    expect(response.headers.get('x-request-id')).toBe('req-123');
    const handlerLine = lines.find((line) => line['msg'] === 'inside handler');
    expect(handlerLine?.['request_id']).toBe('req-123');
    expect(lines.find((line) => line['msg'] === 'request')).toMatchObject({ status: 200, request_id: 'req-123' });
  });

  it('ends the access log line (and the server span) when a streamed response ends, not when it starts', async () => {
    const { logger, lines } = collectingLogger();
    const app = createHttpApp({ logger });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    app.get('/events', () => {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode('data: one\n\n'));
          await released;
          controller.enqueue(new TextEncoder().encode('data: two\n\n'));
          controller.close();
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const response = await app.request('/events');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(lines.some((line) => line['msg'] === 'request')).toBe(false);
    release();
    let text = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
    expect(text).toContain('two');
    expect(lines.find((line) => line['msg'] === 'request')).toMatchObject({ status: 200, streamed: true });
  });

  it('stamps the request id on the access log line of a stream served over a real socket', async () => {
    const { logger, waitForLine } = collectingLogger();
    const app = createHttpApp({ logger });
    app.get('/events', () => new Response('data: one\n\n', { headers: { 'content-type': 'text/event-stream' } }));
    const server = await serveHttp(app, { host: '127.0.0.1', port: 0, logger, service: 'test' });
    try {
      const response = await fetch(`${server.url}/events`, { headers: { 'X-Request-ID': 'req-stream' } });
      expect(await response.text()).toBe('data: one\n\n');
      // Written when the socket closes, outside the handler's async scope.
      const line = await waitForLine((candidate) => candidate['msg'] === 'request' && candidate['path'] === '/events');
      expect(line).toMatchObject({ streamed: true, request_id: 'req-stream' });
    } finally {
      await server.close();
    }
  });

  it('lets a handler write a stream to the socket itself, with the headers set before and one access-log line', async () => {
    const { logger, waitForLine } = collectingLogger();
    const app = createHttpApp({ logger });
    app.get('/direct', (c) => {
      c.header('X-Before', 'kept');
      const socket = writeNodeStreamHead(c, 207, { 'Content-Type': 'text/event-stream' });
      if (socket === undefined) return c.text('in-process', 200);
      socket.write('data: one\n\n');
      setImmediate(() => socket.end('data: two\n\n'));
      return NODE_STREAM_RESPONSE;
    });
    // In-process there is no socket: the handler answers the ordinary way.
    expect(await (await app.request('/direct')).text()).toBe('in-process');
    const server = await serveHttp(app, { host: '127.0.0.1', port: 0, logger, service: 'test' });
    try {
      const response = await fetch(`${server.url}/direct`, { headers: { 'X-Request-ID': 'req-direct' } });
      expect(response.status).toBe(207);
      expect(response.headers.get('x-before')).toBe('kept');
      expect(response.headers.get('x-request-id')).toBe('req-direct');
      expect(await response.text()).toBe('data: one\n\ndata: two\n\n');
      const line = await waitForLine((candidate) => candidate['msg'] === 'request' && candidate['request_id'] === 'req-direct');
      expect(line).toMatchObject({ status: 207, streamed: true });
    } finally {
      await server.close();
    }
  });

  it('replaces an unsafe request id with a generated one', async () => {
    const app = createHttpApp({ logger: collectingLogger().logger });
    app.get('/x', (c) => c.text('ok'));
    const response = await app.request('/x', { headers: { 'X-Request-ID': 'bad id with spaces\n' } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('renders errors as OpenAI error objects and hides internal messages', async () => {
    const app = createHttpApp({ logger: collectingLogger().logger });
    app.get('/conflict', () => {
      throw new EnsembleError(ErrorCode.Conflict, 'session is busy');
    });
    app.get('/boom', () => {
      throw new Error('secret database password in stack');
    });
    const conflict = await app.request('/conflict');
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual({ error: { message: 'session is busy', type: 'conflict_error', param: null, code: 'conflict' } });
    const boom = await app.request('/boom');
    expect(boom.status).toBe(500);
    const text = await boom.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'server_error' } });
    const missing = await app.request('/nope');
    expect(missing.status).toBe(404);
  });

  it('answers a URL with broken percent-encoding (a URIError) with a 400, not a 500', async () => {
    const app = createHttpApp({ logger: collectingLogger().logger });
    // As the A2A REST transport does with the raw path's segments.
    app.get('/tasks/*', (c) => c.json({ id: decodeURIComponent(c.req.path.slice('/tasks/'.length)) }));
    const response = await app.request('/tasks/%zz');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_url' } });
    expect(await (await app.request('/tasks/a%20b')).json()).toEqual({ id: 'a b' });
  });

  it('rejects bodies over the limit with 413 and bad JSON with 400', async () => {
    const app = createHttpApp({ logger: collectingLogger().logger, maxBodyBytes: 64 });
    app.post('/echo', async (c) => c.json(await readJsonBody(c, z.object({ name: z.string() }))));
    const tooBig = await app.request('/echo', { method: 'POST', body: JSON.stringify({ name: 'x'.repeat(200) }), headers: { 'content-type': 'application/json' } });
    expect(tooBig.status).toBe(413);
    // A declared length is judged from the header; a body without one is counted as it arrives.
    const declared = await app.request('/echo', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'content-length': '65' } });
    expect(declared.status).toBe(413);
    const withinLimit = await app.request('/echo', { method: 'POST', body: '{"name":"ok"}', headers: { 'content-type': 'application/json', 'content-length': '13' } });
    expect(await withinLimit.json()).toEqual({ name: 'ok' });
    const badJson = await app.request('/echo', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { code: 'invalid_json' } });
    const wrongType = await app.request('/echo', { method: 'POST', body: JSON.stringify({ name: 5 }), headers: { 'content-type': 'application/json' } });
    expect(wrongType.status).toBe(400);
    expect(await wrongType.json()).toMatchObject({ error: { param: 'name', type: 'invalid_request_error' } });
  });
});

describe('createHttpApp: renderError', () => {
  it('lets routes under another wire format render every error (unmatched route, thrown, body limit) their way', async () => {
    const renderError = (c: Context<ServiceEnv>, error: EnsembleError) =>
      c.req.path.startsWith('/rpc') ? c.json({ jsonrpc: '2.0', id: null, error: { code: -32000 - error.status, message: error.message } }, error.status as 404) : undefined;
    const app = createHttpApp({ logger: collectingLogger().logger, maxBodyBytes: 64, renderError });
    app.post('/rpc', () => {
      throw new EnsembleError(ErrorCode.Conflict, 'busy');
    });
    const thrown = await app.request('/rpc', { method: 'POST', body: '{}', headers: { 'content-length': '2' } });
    expect(thrown.status).toBe(409);
    expect(await thrown.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32409, message: 'busy' } });
    const unmatched = await app.request('/rpc/other');
    expect(await unmatched.json()).toMatchObject({ error: { code: -32404 } });
    const tooBig = await app.request('/rpc', { method: 'POST', body: 'x'.repeat(100), headers: { 'content-length': '100' } });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ error: { code: -32413 } });
    // Elsewhere the renderer declines: the OpenAI error object.
    const elsewhere = await app.request('/v1/nothing');
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toMatchObject({ error: { type: expect.any(String) as string, code: 'not_found' } });
  });
});

describe('bearerAuth', () => {
  const app = createHttpApp({ logger: collectingLogger().logger });
  app.use('/v1/*', bearerAuth(['sk-one', 'sk-two']));
  app.get('/v1/me', (c) => c.json({ principal: c.var.principal }));

  it('accepts a configured token and exposes a hashed principal', async () => {
    const response = await app.request('/v1/me', { headers: { Authorization: 'Bearer sk-two' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ principal: principalOf('sk-two') });
  });

  it('rejects a missing or wrong token with 401 in OpenAI format', async () => {
    const missing = await app.request('/v1/me');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await missing.json()).toMatchObject({ error: { type: 'authentication_error', code: 'missing_api_key' } });
    const wrong = await app.request('/v1/me', { headers: { Authorization: 'Bearer sk-nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
  });
});
