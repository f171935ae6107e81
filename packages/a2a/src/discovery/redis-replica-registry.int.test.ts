import { describe, expect, it } from 'vitest';

import { testRedis } from '../../../../test/support/redis.js';
import { RedisReplicaRegistry } from './redis-replica-registry.js';
import { describeReplicaRegistryConformance } from './replica-registry.conformance.js';

describeReplicaRegistryConformance('RedisReplicaRegistry', async () => {
  const redis = testRedis();
  return { open: async (now) => new RedisReplicaRegistry(redis.redis, { keyPrefix: redis.prefix, now }), cleanup: () => redis.cleanup() };
});

describe('RedisReplicaRegistry on Redis’s clock', () => {
  it('announces with Redis TIME when no clock is given, and the set expires when nobody renews', async () => {
    const redis = testRedis();
    try {
      const registry = new RedisReplicaRegistry(redis.redis, { keyPrefix: redis.prefix });
      await registry.announce('orchestrator', 'http://a:8001', 5_000);
      expect(await registry.live('orchestrator')).toEqual(['http://a:8001']);
      const [, expiresAt] = await redis.redis.zrange(`${redis.prefix}replicas:orchestrator`, 0, 0, 'WITHSCORES');
      const [seconds, micros] = await redis.redis.time();
      const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      expect(Number(expiresAt) - redisNow).toBeGreaterThan(4_000);
      expect(Number(expiresAt) - redisNow).toBeLessThanOrEqual(5_000);
      expect(await redis.redis.pttl(`${redis.prefix}replicas:orchestrator`)).toBeGreaterThan(5_000);
    } finally {
      await redis.cleanup();
    }
  });
});
