import { ServerCallContext } from '@a2a-js/sdk/server';
import { describe, expect, it } from 'vitest';

import { testRedis } from '../../../../test/support/redis.js';
import { RedisTaskStore } from './redis-task-store.js';
import { describeTaskStoreConformance } from './task-store.conformance.js';

describeTaskStoreConformance('RedisTaskStore', async () => {
  const redis = testRedis();
  return { store: new RedisTaskStore(redis.redis, { keyPrefix: redis.prefix, ttlSeconds: 60 }), cleanup: () => redis.cleanup() };
});

describe('RedisTaskStore specifics', () => {
  it('puts a TTL on task and index keys, under the configured prefix only', async () => {
    const redis = testRedis();
    try {
      const store = new RedisTaskStore(redis.redis, { keyPrefix: redis.prefix, ttlSeconds: 120 });
      const context = new ServerCallContext();
      await store.save(
        { id: 'ttl-task', contextId: 'c', status: undefined, artifacts: [], history: [], metadata: undefined },
        context,
      );
      const keys = await redis.redis.keys(`${redis.prefix}*`);
      expect(keys.sort()).toEqual([`${redis.prefix}a2a:context-tasks::unknown:c`, `${redis.prefix}a2a:task::unknown:ttl-task`, `${redis.prefix}a2a:tasks::unknown`]);
      for (const key of keys) {
        const ttl = await redis.redis.ttl(key);
        expect(ttl).toBeGreaterThan(100);
        expect(ttl).toBeLessThanOrEqual(120);
      }
    } finally {
      await redis.cleanup();
    }
  });

  it('prunes index entries whose task expired', async () => {
    const redis = testRedis();
    try {
      const store = new RedisTaskStore(redis.redis, { keyPrefix: redis.prefix });
      const context = new ServerCallContext();
      await store.save({ id: 'gone', contextId: 'c', status: undefined, artifacts: [], history: [], metadata: undefined }, context);
      await redis.redis.del(`${redis.prefix}a2a:task::unknown:gone`);
      const result = await store.list({ tenant: '', contextId: '', status: 0, pageToken: '', statusTimestampAfter: undefined }, context);
      expect(result.tasks).toEqual([]);
      expect(await redis.redis.zcard(`${redis.prefix}a2a:tasks::unknown`)).toBe(0);
    } finally {
      await redis.cleanup();
    }
  });
});
