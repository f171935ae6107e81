import { afterAll, describe, expect, it } from 'vitest';

import { testRedis } from '../../../test/support/redis.js';
import { InMemorySessionTaskIndex, RedisSessionTaskIndex, type SessionTaskIndex } from './session-tasks.js';

const redis = testRedis();

afterAll(async () => {
  await redis.cleanup();
});

const implementations: [string, () => SessionTaskIndex][] = [
  ['in memory', () => new InMemorySessionTaskIndex()],
  ['redis', () => new RedisSessionTaskIndex(redis.redis, { keyPrefix: `${redis.prefix}${Math.random()}:` })],
];

describe.each(implementations)('SessionTaskIndex (%s)', (_name, create) => {
  it('finds a session’s task for its owner only', async () => {
    const index = create();
    await index.remember('s1', 'alice', 'task-1');
    expect(await index.lookup('s1', 'alice')).toBe('task-1');
    expect(await index.lookup('s1', 'mallory')).toBeUndefined();
    expect(await index.lookup('s2', 'alice')).toBeUndefined();
    await index.remember('s1', 'alice', 'task-2');
    expect(await index.lookup('s1', 'alice')).toBe('task-2');
  });

  it('lets one reader hold a session: a re-attach is refused while another client reads it', async () => {
    const index = create();
    expect(await index.attach('s1', 'first', { ttlMs: 10_000, exclusive: false })).toBe(true);
    expect(await index.attach('s1', 'second', { ttlMs: 10_000, exclusive: true })).toBe(false);
    // Renewing one's own hold works, exclusive or not.
    expect(await index.attach('s1', 'first', { ttlMs: 10_000, exclusive: true })).toBe(true);
    // Only the holder can let go.
    await index.detach('s1', 'second');
    expect(await index.attach('s1', 'third', { ttlMs: 10_000, exclusive: true })).toBe(false);
    await index.detach('s1', 'first');
    expect(await index.attach('s1', 'third', { ttlMs: 10_000, exclusive: true })).toBe(true);
    // The session's own request takes over regardless (the orchestrator admitted it).
    expect(await index.attach('s1', 'fourth', { ttlMs: 10_000, exclusive: false })).toBe(true);
    expect(await index.attach('s1', 'third', { ttlMs: 10_000, exclusive: true })).toBe(false);
  });

  it('frees a hold nobody renews once its TTL passes (a crashed gateway)', async () => {
    const index = create();
    expect(await index.attach('s1', 'crashed', { ttlMs: 50, exclusive: false })).toBe(true);
    await expect.poll(() => index.attach('s1', 'next', { ttlMs: 10_000, exclusive: true }), { timeout: 2_000, interval: 20 }).toBe(true);
  });
});

describe('RedisSessionTaskIndex', () => {
  it('keeps entries under the prefix with a TTL', async () => {
    const index = new RedisSessionTaskIndex(redis.redis, { keyPrefix: redis.prefix, ttlSeconds: 60 });
    await index.remember('s9', 'alice', 'task-9');
    const ttl = await redis.redis.ttl(`${redis.prefix}gateway:session-task:s9`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });
});
