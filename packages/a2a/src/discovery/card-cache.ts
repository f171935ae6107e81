import { AgentCard } from '@a2a-js/sdk';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/** One cached Agent Card. */
export interface CachedAgentCard {
  /** The card as the agent serves it, in the SDK's (v1.0) shape. */
  card: AgentCard;
  /** When the card was fetched from the agent, in ms since the epoch. */
  fetchedAt: number;
}

/**
 * Where discovered Agent Cards are kept between fetches, keyed by the agent's configured base URL.
 *
 * Contract, for every implementation:
 * - `get` returns `undefined` for a URL never set, deleted, or whose TTL has passed; never a stale entry.
 * - Entries are copies: mutating what `get` returned, or the object given to `set`, does not change
 *   the stored entry.
 * - `set` replaces any previous entry for the URL and restarts its TTL.
 * - Errors from the backend (Redis down) propagate; callers treat the cache as an optimisation and
 *   fall back to fetching the card.
 * - A Redis cache is shared: every service whose registry uses the same Redis and key prefix sees the
 *   cards the others fetched, so N services do not each hit every agent.
 */
export interface AgentCardCache {
  get(agentUrl: string): Promise<CachedAgentCard | undefined>;
  set(agentUrl: string, entry: CachedAgentCard, ttlMs: number): Promise<void>;
  delete(agentUrl: string): Promise<void>;
}

/** Process-local cache, for tests and single-process setups. */
export class InMemoryAgentCardCache implements AgentCardCache {
  readonly #entries = new Map<string, { card: unknown; fetchedAt: number; expiresAt: number }>();
  readonly #now: () => number;

  /** `now` is injectable so tests can move time instead of waiting. */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async get(agentUrl: string): Promise<CachedAgentCard | undefined> {
    const entry = this.#entries.get(agentUrl);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(agentUrl);
      return undefined;
    }
    return { card: AgentCard.fromJSON(entry.card), fetchedAt: entry.fetchedAt };
  }

  async set(agentUrl: string, entry: CachedAgentCard, ttlMs: number): Promise<void> {
    // Stored in wire form: the snapshot is a copy, like the Redis implementation's.
    this.#entries.set(agentUrl, { card: AgentCard.toJSON(entry.card), fetchedAt: entry.fetchedAt, expiresAt: this.#now() + ttlMs });
  }

  async delete(agentUrl: string): Promise<void> {
    this.#entries.delete(agentUrl);
  }
}

const StoredEntry = z.object({ card: z.record(z.string(), z.unknown()), fetchedAt: z.number() });

export interface RedisAgentCardCacheOptions {
  /** Prepended to every key (`REDIS_KEY_PREFIX`, e.g. `ensemble:`); keys are `<prefix>agent-card:<url>`. */
  keyPrefix: string;
}

/**
 * Redis-backed cache shared by every service using the same Redis and key prefix. The TTL is Redis's
 * own (`SET ... PX`), so expired cards disappear without a sweeper. The client is injected and not
 * owned: closing it is the caller's job.
 */
export class RedisAgentCardCache implements AgentCardCache {
  readonly #redis: Redis;
  readonly #keyPrefix: string;

  constructor(redis: Redis, options: RedisAgentCardCacheOptions) {
    this.#redis = redis;
    this.#keyPrefix = options.keyPrefix;
  }

  async get(agentUrl: string): Promise<CachedAgentCard | undefined> {
    const raw = await this.#redis.get(this.#key(agentUrl));
    if (raw === null) return undefined;
    const parsed = StoredEntry.safeParse(safeJsonParse(raw));
    // A corrupt entry (another writer, a manual edit) is a miss, not a failure: the card is re-fetched.
    if (!parsed.success) return undefined;
    return { card: AgentCard.fromJSON(parsed.data.card), fetchedAt: parsed.data.fetchedAt };
  }

  async set(agentUrl: string, entry: CachedAgentCard, ttlMs: number): Promise<void> {
    const value = JSON.stringify({ card: AgentCard.toJSON(entry.card), fetchedAt: entry.fetchedAt });
    await this.#redis.set(this.#key(agentUrl), value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async delete(agentUrl: string): Promise<void> {
    await this.#redis.del(this.#key(agentUrl));
  }

  #key(agentUrl: string): string {
    return `${this.#keyPrefix}agent-card:${agentUrl}`;
  }
}

function safeJsonParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
