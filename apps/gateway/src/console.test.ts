import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createLlmClient } from '@ensemble/llm';
import type { Router } from '@ensemble/routing';
import { createLogger } from '@ensemble/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createGatewayApp } from './app.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const upstream = createLlmClient({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'unused', timeoutMs: 1_000, maxRetries: 0 });
const router: Router = { route: async () => ({ path: 'passthrough', source: 'header', reason: 'test' }), decideWithoutModel: () => undefined };

function gateway(apiTokens: readonly string[], consoleDirectory?: string) {
  return createGatewayApp({ logger, upstream, upstreamTimeoutMs: 1_000, router, apiTokens, ...(consoleDirectory === undefined ? {} : { consoleDirectory }) });
}

describe('the console on the gateway', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gateway-console-'));
    await mkdir(join(directory, 'assets'));
    await writeFile(join(directory, 'index.html'), '<!doctype html><title>Ensemble console</title>');
    await writeFile(join(directory, 'assets', 'index-1a2b3c.js'), 'export {}');
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('tells the console without a token whether sign-in is needed', async () => {
    for (const [tokens, authRequired] of [[['secret'], true], [[], false]] as const) {
      const response = await gateway(tokens).request('/console/config.json');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ authRequired });
    }
  });

  it('serves the built console without a token: the page revalidated, hashed assets immutable', async () => {
    const app = gateway(['secret'], directory);
    const page = await app.request('/console');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('Ensemble console');
    const asset = await app.request('/console/assets/index-1a2b3c.js');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // The API itself stays behind the token.
    expect((await app.request('/v1/agents')).status).toBe(401);
  });

  it('does not mount /console when no build is given', async () => {
    expect((await gateway([]).request('/console')).status).toBe(404);
  });
});
