import { randomUUID } from 'node:crypto';

import { EnsembleError, ErrorCode, NodeResult, type Session, type SessionPatch, SessionRecord, SessionTombstone } from '@ensemble/protocol';
import { ExponentialBackoff, type IPolicy, handleWhen, retry } from 'cockatiel';
import { Redis, ReplyError } from 'ioredis';

import { acquireWithin, ManagedLease, withLease } from '../lease.js';
import { applyPatch, checkNodeResult, conflict, finished, isSessionId, newRecord, notFound, tombstoneFor, withNodes } from '../records.js';
import {
  type CreateSessionInput,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_SESSION_TTL_MS,
  DEFAULT_TOMBSTONE_TTL_MS,
  type FinishOutcome,
  type LeaseOptions,
  type ListResumableOptions,
  type SessionLease,
  type SessionStore,
} from '../session-store.js';
import { ACQUIRE, PUT_NODE, RELEASE, RENEW, UPDATE, runScript } from './scripts.js';

export interface RedisSessionStoreOptions {
  /** Put before every key (the app passes `REDIS_KEY_PREFIX`, e.g. `ensemble:`). Default ``. */
  keyPrefix?: string;
  /** Sliding lifetime of a session: every write extends it. Default 7 days. */
  ttlMs?: number;
  tombstoneTtlMs?: number;
  /** Retries of a failing Redis call before `unavailable` (503). */
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number };
  /** Compare-and-set rounds `update()` tries under contention before `conflict`. Default 100. */
  maxUpdateRounds?: number;
  /**
   * The clock of the records' times (created, updated, finished, idle for the resume scan); tests
   * inject one. Key lifetimes and leases run on Redis's own clock. Default `Date.now`.
   */
  now?: () => number;
}

/**
 * `SessionStore` on Redis. Keys, after `keyPrefix`:
 *
 * | key                          | type   | holds                                                  |
 * |------------------------------|--------|--------------------------------------------------------|
 * | `session:{id}`               | string | the `SessionRecord` as JSON                             |
 * | `session:{id}:nodes`         | hash   | one field per node: its `NodeResult` as JSON            |
 * | `session:{id}:lock`          | string | the lease token (`SET NX PX`)                           |
 * | `session:{id}:finished`      | string | the `SessionTombstone` JSON after `finish()`            |
 * | `sessions:owner:{owner}`     | zset   | the owner's session ids by creation time (for `list`)   |
 * | `sessions:active`            | zset   | `active` session ids by last activity (`listResumable`) |
 *
 * Record, nodes and owner index share the session TTL, refreshed on every write. Index entries of
 * expired sessions are removed lazily when a listing finds them gone.
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: Redis;
  #ownsClient = false;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #tombstoneTtlMs: number;
  readonly #maxUpdateRounds: number;
  readonly #now: () => number;
  readonly #policy: IPolicy;

  constructor(redis: Redis, options: RedisSessionStoreOptions = {}) {
    this.#redis = redis;
    this.#prefix = options.keyPrefix ?? '';
    this.#ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#now = options.now ?? Date.now;
    this.#tombstoneTtlMs = options.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS;
    this.#maxUpdateRounds = options.maxUpdateRounds ?? 100;
    // Connection trouble is worth retrying; a Redis reply error (wrong type, script error) never is.
    this.#policy = retry(
      handleWhen((error) => !(error instanceof ReplyError) && !(error instanceof EnsembleError)),
      {
        maxAttempts: options.retry?.maxAttempts ?? 3,
        backoff: new ExponentialBackoff({ initialDelay: options.retry?.initialDelayMs ?? 50, maxDelay: options.retry?.maxDelayMs ?? 1_000 }),
      },
    );
  }

  /** A store with its own client, closed by `close()`. */
  static fromUrl(url: string, options: RedisSessionStoreOptions = {}): RedisSessionStore {
    // maxRetriesPerRequest bounds how long one command waits for a reconnect; our policy retries on top.
    const store = new RedisSessionStore(new Redis(url, { maxRetriesPerRequest: 2 }), options);
    store.#ownsClient = true;
    return store;
  }

  async create(input: CreateSessionInput): Promise<Session> {
    const now = this.#now();
    const record = newRecord(input, now);
    const ownerIndex = this.#ownerIndex(record.owner);
    await this.#call('create', () =>
      this.#redis
        .multi()
        .set(this.#recordKey(record.id), JSON.stringify(record), 'PX', this.#ttlMs)
        .zadd(ownerIndex, now, record.id)
        .pexpire(ownerIndex, this.#ttlMs)
        .zadd(this.#activeIndex(), now, record.id)
        .exec()
        .then(allReplies),
    );
    return withNodes(record, {});
  }

  async get(id: string, owner: string): Promise<Session> {
    if (!isSessionId(id)) throw notFound(id);
    const [raw, nodes] = await this.#call('get', async () => {
      const replies = await this.#redis.multi().get(this.#recordKey(id)).hgetall(this.#nodesKey(id)).exec();
      return [replyOf<string | null>(replies, 0), replyOf<Record<string, string>>(replies, 1)] as const;
    });
    if (raw === null) throw await this.#missing(id, owner);
    const record = this.#parseRecord(id, raw);
    if (record.owner !== owner) throw notFound(id);
    const results: Record<string, NodeResult> = {};
    for (const [nodeId, json] of Object.entries(nodes ?? {})) results[nodeId] = this.#parse(NodeResult, json, `node ${nodeId} of session ${id}`);
    return withNodes(record, results);
  }

  async list(owner: string, options: { limit?: number } = {}): Promise<SessionRecord[]> {
    const index = this.#ownerIndex(owner);
    const ids = await this.#call('list', () => this.#redis.zrevrange(index, 0, (options.limit ?? 100) - 1));
    const records = await this.#records(ids, index);
    return records.filter((record) => record.owner === owner);
  }

  async update(id: string, owner: string, patch: SessionPatch | ((current: SessionRecord) => SessionPatch)): Promise<SessionRecord> {
    if (!isSessionId(id)) throw notFound(id);
    for (let round = 0; round < this.#maxUpdateRounds; round += 1) {
      const raw = await this.#call('update', () => this.#redis.get(this.#recordKey(id)));
      if (raw === null) throw await this.#missing(id, owner);
      const current = this.#parseRecord(id, raw);
      if (current.owner !== owner) throw notFound(id);
      const now = this.#now();
      const next = applyPatch(current, typeof patch === 'function' ? patch(structuredClone(current)) : patch, now);
      const written = await this.#call('update', () =>
        runScript(this.#redis, UPDATE, [this.#recordKey(id), this.#nodesKey(id), this.#ownerIndex(owner), this.#activeIndex()], [raw, JSON.stringify(next), this.#ttlMs, id, next.status === 'active' ? '1' : '0', now]),
      );
      if (written === 1) return next;
      // Someone else wrote in between: read again and re-apply (no lost update).
    }
    throw new EnsembleError(ErrorCode.Conflict, `Session ${id} is changing too fast to update; try again`, { wireCode: 'session_contended' });
  }

  async putNodeResult(id: string, owner: string, nodeId: string, result: NodeResult): Promise<void> {
    const checked = checkNodeResult(nodeId, result);
    if (!isSessionId(id)) throw notFound(id);
    const written = await this.#call('put node result', () =>
      runScript(this.#redis, PUT_NODE, [this.#recordKey(id), this.#nodesKey(id), this.#ownerIndex(owner), this.#activeIndex()], [owner, nodeId, JSON.stringify(checked), this.#ttlMs, id, this.#now()]),
    );
    if (written !== 1) throw await this.#missing(id, owner);
  }

  async finish(id: string, owner: string, outcome: FinishOutcome): Promise<SessionTombstone> {
    const record = await this.#owned(id, owner);
    const tombstone = tombstoneFor(record, outcome, this.#now());
    await this.#call('finish', () => this.#deletion(record).set(this.#tombstoneKey(id), JSON.stringify(tombstone), 'PX', this.#tombstoneTtlMs).exec().then(allReplies));
    return tombstone;
  }

  async delete(id: string, owner: string): Promise<void> {
    const record = await this.#owned(id, owner);
    await this.#call('delete', () => this.#deletion(record).exec().then(allReplies));
  }

  async acquireLease(id: string, owner: string, options: LeaseOptions = {}): Promise<SessionLease> {
    await this.#owned(id, owner);
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    const token = randomUUID();
    const lockKey = this.#lockKey(id);
    // The fencing token: one more than the previous holder's, so writes a stale holder makes after a
    // takeover can be refused (the counter outlives the lock; it lives as long as a session).
    let fencingToken = 0;
    const acquired = await acquireWithin(options.waitMs ?? 0, async () => {
      const reply = await this.#call('acquire lease', () => runScript(this.#redis, ACQUIRE, [lockKey, this.#fenceKey(id)], [token, ttlMs, this.#ttlMs + ttlMs]));
      fencingToken = Number(reply);
      return fencingToken > 0;
    });
    if (!acquired) throw conflict(id);
    return new ManagedLease(
      id,
      token,
      fencingToken,
      ttlMs,
      {
        renew: async (held, ttl) => (await this.#call('renew lease', () => runScript(this.#redis, RENEW, [lockKey], [held, ttl]))) === 1,
        release: async (held) => {
          await this.#call('release lease', () => runScript(this.#redis, RELEASE, [lockKey], [held]));
        },
      },
      { autoRenew: options.autoRenew ?? false, onRenew: options.onRenew, now: Date.now },
    );
  }

  withLock<T>(id: string, owner: string, fn: (lease: SessionLease) => Promise<T>, options: LeaseOptions = {}): Promise<T> {
    return withLease(this, id, owner, fn, options);
  }

  async listResumable(options: ListResumableOptions = {}): Promise<SessionRecord[]> {
    const limit = options.limit ?? 100;
    const idleBefore = this.#now() - (options.minIdleMs ?? 0);
    const index = this.#activeIndex();
    const resumable: SessionRecord[] = [];
    // Page through the index: entries that turn out locked or gone do not count towards the limit.
    for (let offset = 0; resumable.length < limit; offset += limit) {
      const ids = await this.#call('list resumable', () => this.#redis.zrangebyscore(index, '-inf', idleBefore, 'LIMIT', offset, limit));
      if (ids.length === 0) break;
      const locked = await this.#call('list resumable', async () => {
        const replies = await this.#redis.multi(ids.map((id) => ['exists', this.#lockKey(id)])).exec();
        return ids.map((_, position) => replyOf<number>(replies, position) === 1);
      });
      const records = await this.#records(
        ids.filter((_, position) => locked[position] !== true),
        index,
      );
      resumable.push(...records.filter((record) => record.status === 'active'));
      if (ids.length < limit) break;
    }
    return resumable.slice(0, limit);
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.#redis.quit();
  }

  /** Records for `ids` in order; ids whose record is gone are dropped here and from `index`. */
  async #records(ids: readonly string[], index: string): Promise<SessionRecord[]> {
    if (ids.length === 0) return [];
    const raws = await this.#call('read sessions', () => this.#redis.mget(ids.map((id) => this.#recordKey(id))));
    const gone = ids.filter((_, position) => raws[position] === null);
    if (gone.length > 0) await this.#call('clean index', () => this.#redis.zrem(index, ...gone));
    return ids.flatMap((id, position) => {
      const raw = raws[position];
      return raw === null || raw === undefined ? [] : [this.#parseRecord(id, raw)];
    });
  }

  async #owned(id: string, owner: string): Promise<SessionRecord> {
    if (!isSessionId(id)) throw notFound(id);
    const raw = await this.#call('read session', () => this.#redis.get(this.#recordKey(id)));
    if (raw === null) throw await this.#missing(id, owner);
    const record = this.#parseRecord(id, raw);
    if (record.owner !== owner) throw notFound(id);
    return record;
  }

  /** `not_found`, or `session_finished` when the owner's session ended recently. */
  async #missing(id: string, owner: string): Promise<EnsembleError> {
    const raw = await this.#call('read tombstone', () => this.#redis.get(this.#tombstoneKey(id)));
    if (raw === null) return notFound(id);
    const tombstone = this.#parse(SessionTombstone, raw, `tombstone of session ${id}`);
    return tombstone.owner === owner ? finished(tombstone) : notFound(id);
  }

  #deletion(record: SessionRecord): ReturnType<Redis['multi']> {
    return this.#redis
      .multi()
      .del(this.#recordKey(record.id), this.#nodesKey(record.id), this.#lockKey(record.id))
      .zrem(this.#ownerIndex(record.owner), record.id)
      .zrem(this.#activeIndex(), record.id);
  }

  /** Runs a Redis call under the retry policy; what still fails becomes `unavailable` (503). */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.#policy.execute(fn);
    } catch (error) {
      if (error instanceof EnsembleError) throw error;
      throw new EnsembleError(ErrorCode.Unavailable, `Session store unavailable (${what})`, { cause: error, wireCode: 'session_store_unavailable' });
    }
  }

  #parseRecord(id: string, raw: string): SessionRecord {
    return this.#parse(SessionRecord, raw, `session ${id}`);
  }

  /** Stored data that does not parse is corruption, not the caller's fault: `internal`, never passed through. */
  #parse<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }, raw: string, what: string): T {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new EnsembleError(ErrorCode.Internal, `Stored ${what} is not valid JSON`, { cause: error });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new EnsembleError(ErrorCode.Internal, `Stored ${what} does not match its schema`);
    return parsed.data;
  }

  #recordKey(id: string): string {
    return `${this.#prefix}session:${id}`;
  }

  #nodesKey(id: string): string {
    return `${this.#prefix}session:${id}:nodes`;
  }

  #lockKey(id: string): string {
    return `${this.#prefix}session:${id}:lock`;
  }

  #fenceKey(id: string): string {
    return `${this.#prefix}session:${id}:fence`;
  }

  #tombstoneKey(id: string): string {
    return `${this.#prefix}session:${id}:finished`;
  }

  #ownerIndex(owner: string): string {
    return `${this.#prefix}sessions:owner:${encodeURIComponent(owner)}`;
  }

  #activeIndex(): string {
    return `${this.#prefix}sessions:active`;
  }
}

/** The reply at `position` of a MULTI, throwing the command's own error if it failed. */
function replyOf<T>(replies: [Error | null, unknown][] | null, position: number): T {
  // exec() answers null only when a WATCHed key changed; these transactions watch nothing.
  const entry = replies?.[position];
  if (entry === undefined) throw new EnsembleError(ErrorCode.Unavailable, 'Redis transaction was aborted');
  if (entry[0] !== null) throw entry[0];
  return entry[1] as T;
}

/** Every reply of a MULTI, throwing the first command error (exec() itself resolves even when one fails). */
function allReplies(replies: [Error | null, unknown][] | null): unknown[] {
  return (replies ?? []).map((_, position) => replyOf<unknown>(replies, position));
}
