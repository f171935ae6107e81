import type { Redis } from 'ioredis';

import type { ReplicaRegistry } from './replica-registry.js';

export interface RedisReplicaRegistryOptions {
  /** Put before every key (the app passes `REDIS_KEY_PREFIX`). Default ``. */
  keyPrefix?: string;
  /** The clock (tests); by default Redis's own `TIME`, so replicas whose clocks differ still agree. */
  now?: () => number;
}

/**
 * KEYS: the service's set. ARGV: url, ttl (ms), now (ms, or '' for Redis TIME).
 * The score is the announcement's expiry; expired members are dropped on the way.
 */
const ANNOUNCE_SCRIPT = `
local now = tonumber(ARGV[3])
if not now then local t = redis.call('TIME'); now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 0
`;

/** KEYS: the service's set. ARGV: now (ms, or '' for Redis TIME). */
const LIVE_SCRIPT = `
local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`;

/**
 * Replicas in Redis: one sorted set per service (`{prefix}replicas:{service}`), member = URL, score =
 * when its announcement expires, on Redis's clock. The set itself expires when nobody renews.
 */
export class RedisReplicaRegistry implements ReplicaRegistry {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #now: (() => number) | undefined;

  constructor(redis: Redis, options: RedisReplicaRegistryOptions = {}) {
    this.#redis = redis;
    this.#prefix = options.keyPrefix ?? '';
    this.#now = options.now;
    // Sent once, then called by hash (every gateway reads the list every second).
    redis.defineCommand('ensembleReplicaAnnounce', { numberOfKeys: 1, lua: ANNOUNCE_SCRIPT });
    redis.defineCommand('ensembleReplicaLive', { numberOfKeys: 1, lua: LIVE_SCRIPT });
  }

  /** The client with the commands `defineCommand` added in the constructor. */
  get #scripts(): RedisWithScripts {
    return this.#redis as unknown as RedisWithScripts;
  }

  #key(service: string): string {
    return `${this.#prefix}replicas:${service}`;
  }

  #clock(): string {
    return this.#now === undefined ? '' : String(this.#now());
  }

  async announce(service: string, url: string, ttlMs: number): Promise<void> {
    await this.#scripts.ensembleReplicaAnnounce(this.#key(service), url, ttlMs, this.#clock());
  }

  async withdraw(service: string, url: string): Promise<void> {
    await this.#redis.zrem(this.#key(service), url);
  }

  async live(service: string): Promise<string[]> {
    const urls = (await this.#scripts.ensembleReplicaLive(this.#key(service), this.#clock())) as string[];
    return [...urls].sort();
  }
}

interface RedisWithScripts {
  ensembleReplicaAnnounce(key: string, url: string, ttlMs: number, now: string): Promise<unknown>;
  ensembleReplicaLive(key: string, now: string): Promise<unknown>;
}
