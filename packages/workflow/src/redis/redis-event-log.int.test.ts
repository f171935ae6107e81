import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

import { testRedis } from '../../../../test/support/redis.js';
import type { SampleEvent } from '../testing/conformance.js';
import { describeEventLogConformance } from '../testing/conformance.js';
import { RedisEventLog } from './redis-event-log.js';

describeEventLogConformance('RedisEventLog', async () => {
  const env = testRedis();
  const clients: Redis[] = [];
  const optionsOf = new WeakMap<object, object>();
  return {
    open: async (options = {}) => {
      const log = new RedisEventLog<SampleEvent>(env.redis, { ...options, keyPrefix: env.prefix });
      optionsOf.set(log, options);
      return log;
    },
    // Its own connection: concurrent appenders really race on the server, not queue on one socket.
    peer: async (log) => {
      const client = new Redis(env.url);
      clients.push(client);
      return new RedisEventLog<SampleEvent>(client, { ...optionsOf.get(log), keyPrefix: env.prefix });
    },
    // Redis time cannot be moved: wait it out (the suite's TTLs are a few hundred ms).
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    trimSlack: 100,
    cleanup: async () => {
      for (const client of clients) client.disconnect();
      await env.cleanup();
    },
  };
});

describe('RedisEventLog layout', () => {
  const env = testRedis();
  afterAll(() => env.cleanup());

  it('stores one stream entry per event with id <position>-0, and a meta hash with head and fence, both with the TTL', async () => {
    const log = new RedisEventLog<{ kind: string }>(env.redis, { keyPrefix: env.prefix, ttlMs: 60_000 });
    await log.append('s1', [{ kind: 'a' }, { kind: 'b' }], { fence: 7 });
    const entries = await env.redis.xrange(`${env.prefix}events:{s1}`, '-', '+');
    expect(entries.map(([id]) => id)).toEqual(['1-0', '2-0']);
    expect(await env.redis.hgetall(`${env.prefix}events:{s1}:meta`)).toEqual({ head: '2', fence: '7' });
    for (const key of [`${env.prefix}events:{s1}`, `${env.prefix}events:{s1}:meta`]) {
      const ttl = await env.redis.pttl(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    await log.close();
  });
});
