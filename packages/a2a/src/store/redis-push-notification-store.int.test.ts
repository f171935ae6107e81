import { ServerCallContext } from '@a2a-js/sdk/server';
import { describe, expect, it } from 'vitest';

import { testRedis } from '../../../../test/support/redis.js';
import { describePushNotificationStoreConformance } from './push-notification-store.conformance.js';
import { RedisPushNotificationStore } from './redis-push-notification-store.js';

describePushNotificationStoreConformance('RedisPushNotificationStore', async () => {
  const redis = testRedis();
  return { store: new RedisPushNotificationStore(redis.redis, { keyPrefix: redis.prefix, ttlSeconds: 60 }), cleanup: () => redis.cleanup() };
});

describe('RedisPushNotificationStore specifics', () => {
  it('keeps a task configs under the configured prefix with a TTL, readable by another instance (replica)', async () => {
    const redis = testRedis();
    try {
      const writer = new RedisPushNotificationStore(redis.redis, { keyPrefix: redis.prefix, ttlSeconds: 120 });
      const context = new ServerCallContext({ requestedVersion: '1.0' });
      await writer.save('ttl-task', context, { tenant: '', id: 'c1', taskId: 'ttl-task', url: 'https://hooks.example.com/', token: '', authentication: undefined });
      const keys = (await redis.redis.keys(`${redis.prefix}*`)).sort();
      expect(keys).toEqual([`${redis.prefix}a2a:push::unknown:ttl-task`, `${redis.prefix}a2a:push::unknown:ttl-task:order`]);
      for (const key of keys) {
        const ttl = await redis.redis.ttl(key);
        expect(ttl).toBeGreaterThan(100);
        expect(ttl).toBeLessThanOrEqual(120);
      }
      const reader = new RedisPushNotificationStore(redis.redis, { keyPrefix: redis.prefix });
      expect((await reader.load('ttl-task', context)).map((config) => config.url)).toEqual(['https://hooks.example.com/']);
    } finally {
      await redis.cleanup();
    }
  });
});
