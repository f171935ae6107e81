import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createHttpApp } from './http-app.js';
import { staticFiles } from './static-files.js';
import { collectingLogger } from '../../../test/support/logs.js';

describe('staticFiles', () => {
  let base: string;
  let directory: string;
  const app = createHttpApp({ logger: collectingLogger().logger });

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'static-files-'));
    directory = join(base, 'dist');
    await mkdir(join(directory, 'assets'), { recursive: true });
    await writeFile(join(directory, 'index.html'), '<!doctype html><title>console</title>');
    await writeFile(join(directory, 'assets', 'main-abc123.js'), 'console.log(1)');
    await writeFile(join(directory, 'favicon.svg'), '<svg/>');
    await writeFile(join(base, 'secret-outside.txt'), 'secret');
    app.get('/console', staticFiles({ directory, prefix: '/console' }));
    app.get('/console/*', staticFiles({ directory, prefix: '/console' }));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('serves the index page revalidated on every load', async () => {
    for (const path of ['/console', '/console/']) {
      const response = await app.request(path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(await response.text()).toContain('<title>console</title>');
    }
  });

  it('serves hashed assets as immutable and other files revalidated', async () => {
    const asset = await app.request('/console/assets/main-abc123.js');
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe('console.log(1)');
    const icon = await app.request('/console/favicon.svg');
    expect(icon.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers client-side routes with the index page and missing files with 404', async () => {
    const route = await app.request('/console/sessions');
    expect(await route.text()).toContain('<title>console</title>');
    expect((await app.request('/console/assets/missing-000.js')).status).toBe(404);
  });

  it('never serves a file outside its directory', async () => {
    for (const path of ['/console/..%2fsecret-outside.txt', '/console/%2e%2e/secret-outside.txt']) {
      const response = await app.request(path);
      expect(response.status).toBe(404);
    }
  });
});
