import { request as httpRequest } from 'node:http';

import { createLogger } from '@ensemble/telemetry';
import { afterAll, describe, expect, it } from 'vitest';

import { createHttpApp } from './http-app.js';
import type { NodeLane } from './node-lane.js';
import { type RunningServer, serveHttp } from './serve.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const servers: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close(1_000)));
});

/**
 * A lane on POST /echo that serves bodies starting with `lane:` and declines the rest; the app behind it
 * echoes what it read. Each side records what it saw.
 */
async function serveWithLane(maxBodyBytes = 1_024) {
  const seen = { lane: [] as string[], app: [] as string[] };
  const app = createHttpApp({ logger, maxBodyBytes });
  app.post('/echo', async (c) => {
    const text = await c.req.text();
    seen.app.push(text);
    return c.text(`app:${text}`);
  });
  const lane: NodeLane = {
    method: 'POST',
    path: '/echo',
    maxBodyBytes,
    serve(_incoming, body, outgoing) {
      const text = body.toString('utf8');
      seen.lane.push(text);
      if (text === 'lane:bug') throw new Error('a bug in the lane at /internal/path');
      if (!text.startsWith('lane:')) return false;
      outgoing.writeHead(200, { 'content-type': 'text/plain' }).end(`served:${text}`);
      return true;
    },
  };
  const server = await serveHttp(app, { host: '127.0.0.1', port: 0, logger, service: 'test', lanes: [lane] });
  servers.push(server);
  return { url: server.url, seen };
}

async function post(url: string, body: string, method = 'POST') {
  const response = await fetch(url, { method, body });
  return { status: response.status, text: await response.text() };
}

describe('serveHttp with a NodeLane', () => {
  it('lets the lane serve what it accepts, the app never seeing it', async () => {
    const { url, seen } = await serveWithLane();
    expect(await post(`${url}/echo`, 'lane:hello')).toEqual({ status: 200, text: 'served:lane:hello' });
    expect(await post(`${url}/echo?verbose=1`, 'lane:query')).toEqual({ status: 200, text: 'served:lane:query' });
    expect(seen.app).toEqual([]);
  });

  it('hands what the lane declines to the app with the body the lane read', async () => {
    const { url, seen } = await serveWithLane();
    const body = `app:${'x'.repeat(996)}`;
    expect(await post(`${url}/echo`, body)).toEqual({ status: 200, text: `app:${body}` });
    expect(seen).toEqual({ lane: [body], app: [body] });
  });

  it('answers a lane that throws with a 500 in the OpenAI error format, and keeps serving', async () => {
    const { url } = await serveWithLane();
    const failed = await post(`${url}/echo`, 'lane:bug');
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.text)).toMatchObject({ error: { message: 'Internal server error' } });
    expect(failed.text).not.toContain('/internal/path');
    expect(await post(`${url}/echo`, 'lane:after')).toEqual({ status: 200, text: 'served:lane:after' });
  });

  it('never offers the lane other routes, other methods, oversized or chunked bodies', async () => {
    const { url, seen } = await serveWithLane(64);
    expect((await post(`${url}/echo/more`, 'lane:other path')).status).toBe(404);
    expect((await post(`${url}/echo`, 'lane:other method', 'PUT')).status).toBe(404);
    // Declared larger than the limit: the app's body limit answers, without anyone reading it.
    const oversized = await post(`${url}/echo`, `lane:${'x'.repeat(100)}`);
    expect(oversized.status).toBe(413);
    expect(JSON.parse(oversized.text)).toMatchObject({ error: { code: 'payload_too_large' } });
    const chunked = await new Promise<string>((resolve, reject) => {
      const request = httpRequest(`${url}/echo`, { method: 'POST' }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve(text));
      });
      request.on('error', reject);
      request.write('lane:');
      request.end('chunked');
    });
    expect(chunked).toBe('app:lane:chunked');
    expect(seen.lane).toEqual([]);
  });
});
