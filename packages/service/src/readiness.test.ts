import { describe, expect, it } from 'vitest';

import { collectingLogger } from '../../../test/support/logs.js';
import { createHttpApp } from './http-app.js';
import { type ReadinessCheck, mountReadiness, redisReadiness } from './readiness.js';

function appWith(options: Parameters<typeof mountReadiness>[1]) {
  const { logger, lines } = collectingLogger('readiness-test');
  const app = createHttpApp({ logger });
  mountReadiness(app, options);
  return { app, lines };
}

const passing: ReadinessCheck = { name: 'redis', check: () => Promise.resolve() };

describe('mountReadiness', () => {
  it('is ready with no checks, and with every check passing', async () => {
    const bare = await appWith({}).app.request('/ready');
    expect(bare.status).toBe(200);
    expect(await bare.json()).toEqual({ status: 'ready', checks: {} });

    const checked = await appWith({ checks: [passing] }).app.request('/ready');
    expect(checked.status).toBe(200);
    expect(await checked.json()).toMatchObject({ status: 'ready', checks: { redis: { status: 'ok' } } });
  });

  it('answers 503 naming the failing check, and logs which one failed', async () => {
    const failing: ReadinessCheck = { name: 'upstream', check: () => Promise.reject(new Error('upstream GET /models failed: upstream unreachable')) };
    const { app, lines } = appWith({ checks: [passing, failing] });
    const response = await app.request('/ready');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      status: 'not_ready',
      checks: { redis: { status: 'ok' }, upstream: { status: 'fail', error: 'upstream GET /models failed: upstream unreachable' } },
    });
    expect(lines.find((line) => line['msg'] === 'not ready')).toMatchObject({ failing: { upstream: { status: 'fail' } } });
  });

  it('bounds a check that never answers by the timeout and aborts its signal', async () => {
    let aborted = false;
    const hanging: ReadinessCheck = {
      name: 'database',
      check: (signal) =>
        new Promise(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
    };
    const response = await appWith({ checks: [hanging], timeoutMs: 20 }).app.request('/ready');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ checks: { database: { status: 'fail', error: 'no answer within 20 ms' } } });
    expect(aborted).toBe(true);
  });

  it('is not ready while draining, whatever its dependencies say', async () => {
    let draining = false;
    const { app } = appWith({ checks: [passing], isDraining: () => draining });
    expect((await app.request('/ready')).status).toBe(200);
    draining = true;
    const response = await app.request('/ready');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'not_ready', checks: { redis: { status: 'ok' }, draining: { status: 'fail' } } });
  });
});

describe('redisReadiness', () => {
  it('fails without repeating the client error, which names the address it tried', async () => {
    const down = redisReadiness({ ping: () => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:6379')) });
    await expect(down.check(new AbortController().signal)).rejects.toThrow('redis did not answer PING');
    await expect(down.check(new AbortController().signal)).rejects.not.toThrow(/10\.1\.2\.3/);
    const odd = redisReadiness({ ping: () => Promise.resolve('LOADING') });
    await expect(odd.check(new AbortController().signal)).rejects.toThrow('unexpected PING reply "LOADING"');
  });
});
