import { EnsembleError, ErrorCode, type NodeResult } from '@ensemble/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rejection } from '@ensemble/protocol/testing';
import { testRedis } from '../../../../test/support/redis.js';
import { describeSessionStoreConformance, sampleRequest, sampleResult } from '../testing/conformance.js';
import { RedisSessionStore } from './redis-store.js';

/** Every key of one session and the indexes, as the store lays them out under `prefix`. */
function keys(prefix: string, id: string, owner = 'alice') {
  return {
    record: `${prefix}session:${id}`,
    nodes: `${prefix}session:${id}:nodes`,
    lock: `${prefix}session:${id}:lock`,
    tombstone: `${prefix}session:${id}:finished`,
    owner: `${prefix}sessions:owner:${owner}`,
    active: `${prefix}sessions:active`,
  };
}

describeSessionStoreConformance('RedisSessionStore', async () => {
  const { redis, prefix, cleanup } = testRedis();
  let clock = Date.now();
  const store = new RedisSessionStore(redis, { keyPrefix: prefix, now: () => clock });
  return {
    store,
    // A past expiry time makes Redis treat the key as expired on the next access, like a real TTL.
    expireSession: async (id) => void (await redis.multi().pexpireat(keys(prefix, id).record, 1).pexpireat(keys(prefix, id).nodes, 1).exec()),
    expireLease: async (id) => void (await redis.pexpireat(keys(prefix, id).lock, 1)),
    // The records' clock is injected; key lifetimes (Redis's clock) are expired explicitly above.
    advance: async (ms) => void (clock += ms),
    cleanup,
  };
});

describe('RedisSessionStore against real Redis', () => {
  const env = testRedis();
  const { redis, prefix } = env;
  const store = new RedisSessionStore(redis, { keyPrefix: prefix });
  /** Separate connections, so concurrent writers really race on the server rather than queue on one socket. */
  const connections: Redis[] = [];

  beforeAll(async () => {
    for (let index = 0; index < 50; index += 1) connections.push(new Redis(env.url, { lazyConnect: true }));
    await Promise.all(connections.map((connection) => connection.connect()));
  });
  afterAll(async () => {
    connections.forEach((connection) => connection.disconnect());
    await env.cleanup();
  });
  const storeOn = (connection: Redis): RedisSessionStore => new RedisSessionStore(connection, { keyPrefix: prefix });

  it('stores the record as JSON at session:{id} with the 7-day TTL, and node results in a hash with the same TTL', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    await store.putNodeResult(session.id, 'alice', 'paris', sampleResult());
    const k = keys(prefix, session.id);
    const sevenDays = 7 * 24 * 3600_000;

    expect(JSON.parse((await redis.get(k.record)) ?? '{}')).toMatchObject({ id: session.id, owner: 'alice', status: 'active' });
    expect(JSON.parse((await redis.hget(k.nodes, 'paris')) ?? '{}')).toEqual(sampleResult());
    for (const key of [k.record, k.nodes, k.owner]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(sevenDays - 60_000);
      expect(ttl).toBeLessThanOrEqual(sevenDays);
    }
  });

  it('checks a node write’s owner against the owner’s index, and against the record when the index lost the session', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    const k = keys(prefix, session.id);
    await redis.zrem(k.owner, session.id);
    expect((await rejection(store.putNodeResult(session.id, 'mallory', 'paris', sampleResult()))).code).toBe(ErrorCode.NotFound);
    await store.putNodeResult(session.id, 'alice', 'paris', sampleResult());
    expect(JSON.parse((await redis.hget(k.nodes, 'paris')) ?? '{}')).toEqual(sampleResult());
  });

  it('applies a configured TTL, refreshes it on every write, and really expires', async () => {
    const short = new RedisSessionStore(redis, { keyPrefix: prefix, ttlMs: 60_000, tombstoneTtlMs: 5_000 });
    const session = await short.create({ owner: 'alice', request: sampleRequest });
    const k = keys(prefix, session.id);
    await redis.pexpire(k.record, 1_000);
    await short.putNodeResult(session.id, 'alice', 'paris', sampleResult());
    expect(await redis.pttl(k.record)).toBeGreaterThan(50_000);
    expect(await redis.pttl(k.nodes)).toBeGreaterThan(50_000);

    await redis.pexpire(k.record, 1_000);
    await short.update(session.id, 'alice', { currentNodes: ['paris'] });
    expect(await redis.pttl(k.record)).toBeGreaterThan(50_000);

    await short.finish(session.id, 'alice', { status: 'completed' });
    expect(await redis.exists(k.record, k.nodes, k.lock)).toBe(0);
    const tombstoneTtl = await redis.pttl(k.tombstone);
    expect(tombstoneTtl).toBeGreaterThan(0);
    expect(tombstoneTtl).toBeLessThanOrEqual(5_000);

    // The configured lifetime is the key's TTL in Redis; once Redis expires it (moved to a past time
    // here, as Redis's clock cannot be), the session is gone.
    const brief = await new RedisSessionStore(redis, { keyPrefix: prefix, ttlMs: 30_000 }).create({ owner: 'alice', request: sampleRequest });
    const briefTtl = await redis.pttl(keys(prefix, brief.id).record);
    expect(briefTtl).toBeGreaterThan(25_000);
    expect(briefTtl).toBeLessThanOrEqual(30_000);
    await redis.pexpireat(keys(prefix, brief.id).record, 1);
    await expect(store.get(brief.id, 'alice')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('storage grows per node, never rewriting the record: bytes per node stay close to the result itself', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    const k = keys(prefix, session.id);
    const recordBytes = await redis.strlen(k.record);
    const nodeCount = 40;
    const output = 'x'.repeat(200);
    for (let index = 0; index < nodeCount; index += 1) {
      await store.putNodeResult(session.id, 'alice', `node-${index}`, sampleResult({ output }));
    }
    const stored = await Promise.all(Array.from({ length: nodeCount }, (_, index) => redis.hstrlen(k.nodes, `node-${index}`)));
    const bytesPerNode = stored.reduce((sum, bytes) => sum + bytes, 0) / nodeCount;
    const resultJsonBytes = Buffer.byteLength(JSON.stringify(sampleResult({ output })));

    expect(await redis.strlen(k.record)).toBe(recordBytes);
    expect(bytesPerNode).toBe(resultJsonBytes);
    // Redis's own accounting (hash encoding overhead included) stays within a small constant per node.
    const memory = Number(await redis.call('MEMORY', 'USAGE', k.nodes, 'SAMPLES', '0'));
    expect(memory / nodeCount).toBeLessThan(resultJsonBytes + 100);
    console.info(`[sessions] ${nodeCount} nodes: ${bytesPerNode} B JSON per node (output 200 B), Redis MEMORY USAGE ${Math.round(memory / nodeCount)} B per node, record ${recordBytes} B unchanged`);
  });

  it('50 concurrent node-result writers on separate connections: every result lands intact', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    await Promise.all(connections.map((connection, index) => storeOn(connection).putNodeResult(session.id, 'alice', `n${index}`, sampleResult({ output: `result ${index}`, taskId: `t${index}` }))));

    const loaded = await store.get(session.id, 'alice');
    expect(Object.keys(loaded.nodes)).toHaveLength(50);
    for (let index = 0; index < 50; index += 1) {
      expect(loaded.nodes[`n${index}`]).toEqual(sampleResult({ output: `result ${index}`, taskId: `t${index}` }) satisfies NodeResult);
    }
  });

  it('50 concurrent lock attempts: exactly one wins, 49 get conflict (409)', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    const outcomes = await Promise.allSettled(connections.map((connection) => storeOn(connection).acquireLease(session.id, 'alice', { ttlMs: 10_000 })));
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));

    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(49);
    expect(lost.every((reason) => EnsembleError.is(reason, ErrorCode.Conflict) && reason.status === 409)).toBe(true);
    await won[0]?.value.release();
  });

  it('50 concurrent read-modify-write cycles under withLock: no lost update', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    await Promise.all(
      connections.map((connection, index) =>
        storeOn(connection).withLock(
          session.id,
          'alice',
          async () => {
            // Deliberately read, yield, then write the whole array: only the lock keeps this safe.
            const current = await storeOn(connection).get(session.id, 'alice');
            await storeOn(connection).update(session.id, 'alice', { currentNodes: [...current.currentNodes, `w${index}`] });
          },
          { waitMs: 20_000, ttlMs: 5_000 },
        ),
      ),
    );
    const { currentNodes } = await store.get(session.id, 'alice');
    expect(currentNodes).toHaveLength(50);
    expect(new Set(currentNodes).size).toBe(50);
  });

  it('30 concurrent function patches without a lock: compare-and-set keeps every one', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    await Promise.all(connections.slice(0, 30).map((connection, index) => storeOn(connection).update(session.id, 'alice', (current) => ({ currentNodes: [...current.currentNodes, `p${index}`] }))));
    expect(new Set((await store.get(session.id, 'alice')).currentNodes).size).toBe(30);
  });

  it('auto-renews a lease while work runs, so nobody else can take it', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    let renewals = 0;
    const renewedTwice = new Promise<void>((resolve) => {
      void store.acquireLease(session.id, 'alice', {
        ttlMs: 150,
        autoRenew: true,
        onRenew: () => {
          renewals += 1;
          if (renewals === 3) resolve();
        },
      });
    });
    await renewedTwice;
    // Three renewals at ttl/3 means the original 150 ms lifetime has passed: only renewal kept it.
    expect((await redis.pttl(keys(prefix, session.id).lock))).toBeGreaterThan(0);
    await expect(store.acquireLease(session.id, 'alice')).rejects.toMatchObject({ code: 'conflict' });
    await redis.del(keys(prefix, session.id).lock);
  });

  it('signals `lost` when the lock was taken away during auto-renew', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    const lease = await store.acquireLease(session.id, 'alice', { ttlMs: 90, autoRenew: true });
    await redis.set(keys(prefix, session.id).lock, 'someone-else');
    const reason = await new Promise<unknown>((resolve) => lease.lost.addEventListener('abort', () => resolve(lease.lost.reason), { once: true }));
    expect(EnsembleError.is(reason, ErrorCode.Conflict)).toBe(true);
    await lease.release();
    expect(await redis.get(keys(prefix, session.id).lock)).toBe('someone-else');
  });

  it('cleans index entries of expired sessions lazily', async () => {
    const session = await store.create({ owner: 'carol', request: sampleRequest });
    const k = keys(prefix, session.id, 'carol');
    await redis.del(k.record);
    expect(await store.list('carol')).toEqual([]);
    expect(await redis.zscore(k.owner, session.id)).toBeNull();
    expect(await store.listResumable({ limit: 1_000 })).not.toContainEqual(expect.objectContaining({ id: session.id }));
    expect(await redis.zscore(k.active, session.id)).toBeNull();
  });

  it('reports stored data that does not parse as internal, without echoing it', async () => {
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    await redis.hset(keys(prefix, session.id).nodes, 'broken', '{"status":"exploded"}');
    const error = await store.get(session.id, 'alice').catch((caught: unknown) => caught);
    expect(EnsembleError.is(error, ErrorCode.Internal)).toBe(true);
    expect((error as EnsembleError).message).toBe(`Stored node broken of session ${session.id} does not match its schema`);
  });

  it('retries a failing Redis with backoff, then answers unavailable (503)', async () => {
    // A port nothing listens on; no offline queue, so each command fails at once and our policy retries.
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const connectionErrors: Error[] = [];
    down.on('error', (error: Error) => connectionErrors.push(error));
    let attempts = 0;
    const originalGet = down.get.bind(down);
    down.get = ((...args: Parameters<typeof originalGet>) => {
      attempts += 1;
      return originalGet(...args);
    });
    const unreachable = new RedisSessionStore(down, { keyPrefix: prefix, retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 } });
    try {
      const error = await unreachable.get('6f1c1d4e-7a59-4d39-a3f3-5b7f6bfe1f00', 'alice').catch((caught: unknown) => caught);
      expect(EnsembleError.is(error, ErrorCode.Unavailable)).toBe(true);
      expect((error as EnsembleError).status).toBe(503);
      const leaseError = await unreachable.acquireLease('6f1c1d4e-7a59-4d39-a3f3-5b7f6bfe1f00', 'alice').catch((caught: unknown) => caught);
      expect(EnsembleError.is(leaseError, ErrorCode.Unavailable)).toBe(true);
      expect(attempts).toBe(3);
    } finally {
      down.disconnect();
    }
  });

  it('fromUrl owns its client and closes it', async () => {
    const owned = RedisSessionStore.fromUrl(env.url, { keyPrefix: prefix });
    const session = await owned.create({ owner: 'dave', request: sampleRequest });
    expect((await owned.get(session.id, 'dave')).id).toBe(session.id);
    await owned.close();
    await expect(owned.get(session.id, 'dave')).rejects.toMatchObject({ code: 'unavailable' });
  });
});
