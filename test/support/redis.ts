import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

/**
 * A Redis client for one test file plus a key prefix nobody else uses. The machine's Redis is shared
 * (with `make up`, other test files, CI): tests only ever touch keys under their own prefix, and
 * `cleanup()` deletes exactly those. Never FLUSHALL.
 */
export function testRedis(): { redis: Redis; url: string; prefix: string; cleanup(): Promise<void> } {
  const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const prefix = `ensemble-test:${randomUUID()}:`;
  const redis = new Redis(url);
  return {
    redis,
    url,
    prefix,
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
