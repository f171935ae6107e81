import { AgentCard } from '@a2a-js/sdk';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { testRedis } from '../../../../test/support/redis.js';
import { type AgentCardCache, InMemoryAgentCardCache, RedisAgentCardCache } from './card-cache.js';

const redis = testRedis();
afterAll(() => redis.cleanup());

interface Subject {
  cache: AgentCardCache;
  /** Makes an entry's TTL run out, the way each backend does it. */
  expire(agentUrl: string): Promise<void>;
}

const implementations: [string, () => Subject][] = [
  [
    'InMemoryAgentCardCache',
    () => {
      let now = 1_000;
      const cache = new InMemoryAgentCardCache({ now: () => now });
      return {
        cache,
        expire: async () => {
          now += 10 * 60_000;
        },
      };
    },
  ],
  [
    'RedisAgentCardCache',
    () => {
      const keyPrefix = `${redis.prefix}${crypto.randomUUID()}:`;
      return {
        cache: new RedisAgentCardCache(redis.redis, { keyPrefix }),
        // A non-positive expiry makes Redis drop the key now, as it would when the TTL runs out.
        expire: async (agentUrl) => {
          await redis.redis.pexpire(`${keyPrefix}agent-card:${agentUrl}`, 0);
        },
      };
    },
  ],
];

function card(name: string): AgentCard {
  return AgentCard.fromJSON({
    name,
    description: `${name} agent`,
    version: '1.0.0',
    supportedInterfaces: [{ url: 'http://127.0.0.1:1/a2a/jsonrpc', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    capabilities: { streaming: true },
    securitySchemes: { bearer: { httpAuthSecurityScheme: { scheme: 'Bearer' } } },
    skills: [{ id: 'x', name: 'X', description: 'does x', tags: ['t'], examples: ['e'] }],
  });
}

const URL_A = 'http://127.0.0.1:1';

describe.each(implementations)('AgentCardCache conformance: %s', (_name, make) => {
  let subject: Subject;
  beforeEach(() => {
    subject = make();
  });

  it('misses for a URL never set', async () => {
    expect(await subject.cache.get(URL_A)).toBeUndefined();
  });

  it('returns what was set, card and fetch time intact', async () => {
    await subject.cache.set(URL_A, { card: card('a'), fetchedAt: 42 }, 60_000);
    const entry = await subject.cache.get(URL_A);
    expect(entry?.fetchedAt).toBe(42);
    expect(AgentCard.toJSON(entry!.card)).toEqual(AgentCard.toJSON(card('a')));
    expect(entry?.card.securitySchemes['bearer']?.scheme?.$case).toBe('httpAuthSecurityScheme');
  });

  it('stores copies', async () => {
    const original = card('a');
    await subject.cache.set(URL_A, { card: original, fetchedAt: 1 }, 60_000);
    original.name = 'mutated after set';
    const first = await subject.cache.get(URL_A);
    first!.card.skills.length = 0;
    const second = await subject.cache.get(URL_A);
    expect(second?.card.name).toBe('a');
    expect(second?.card.skills).toHaveLength(1);
  });

  it('replaces on set and forgets on delete', async () => {
    await subject.cache.set(URL_A, { card: card('a'), fetchedAt: 1 }, 60_000);
    await subject.cache.set(URL_A, { card: card('b'), fetchedAt: 2 }, 60_000);
    expect((await subject.cache.get(URL_A))?.card.name).toBe('b');
    await subject.cache.delete(URL_A);
    expect(await subject.cache.get(URL_A)).toBeUndefined();
    await subject.cache.delete(URL_A);
  });

  it('keys entries by URL', async () => {
    await subject.cache.set(URL_A, { card: card('a'), fetchedAt: 1 }, 60_000);
    await subject.cache.set('http://127.0.0.1:2', { card: card('b'), fetchedAt: 1 }, 60_000);
    expect((await subject.cache.get(URL_A))?.card.name).toBe('a');
    expect((await subject.cache.get('http://127.0.0.1:2'))?.card.name).toBe('b');
  });

  it('never returns an expired entry', async () => {
    await subject.cache.set(URL_A, { card: card('a'), fetchedAt: 1 }, 60_000);
    await subject.expire(URL_A);
    expect(await subject.cache.get(URL_A)).toBeUndefined();
  });
});

describe('RedisAgentCardCache specifics', () => {
  it('lets Redis own the TTL and puts keys under the injected prefix', async () => {
    const keyPrefix = `${redis.prefix}ttl:`;
    const cache = new RedisAgentCardCache(redis.redis, { keyPrefix });
    await cache.set(URL_A, { card: card('a'), fetchedAt: 1 }, 30_000);
    const ttl = await redis.redis.pttl(`${keyPrefix}agent-card:${URL_A}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('treats a corrupt entry as a miss', async () => {
    const keyPrefix = `${redis.prefix}corrupt:`;
    const cache = new RedisAgentCardCache(redis.redis, { keyPrefix });
    await redis.redis.set(`${keyPrefix}agent-card:${URL_A}`, '{not json', 'PX', 60_000);
    expect(await cache.get(URL_A)).toBeUndefined();
    await redis.redis.set(`${keyPrefix}agent-card:${URL_A}`, JSON.stringify({ card: 'nope', fetchedAt: 'yesterday' }), 'PX', 60_000);
    expect(await cache.get(URL_A)).toBeUndefined();
  });
});
