import { createHash } from 'node:crypto';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { Redis, ReplyError } from 'ioredis';

import {
  type AppendOptions,
  DEFAULT_EVENT_LOG_MAX_LENGTH,
  DEFAULT_EVENT_LOG_TTL_MS,
  DEFAULT_READ_LIMIT,
  type EventLog,
  type EventLogOptions,
  type LogRead,
  type LoggedEvent,
  type ReadOptions,
  fencedOut,
} from '../event-log.js';

export interface RedisEventLogOptions<T> extends EventLogOptions {
  /** Put before every key (the app passes `REDIS_KEY_PREFIX`). Default ``. */
  keyPrefix?: string;
  /** Validates an event read back from Redis (a zod schema's `parse`). Default: trust the JSON. */
  parse?: (value: unknown) => T;
}

/**
 * KEYS: stream, meta. ARGV: fence token ('' = unfenced), maxLength, ttlMs, then one JSON event per arg.
 * Returns {1, firstPosition} on success, {0, fence} when fenced out. One atomic step: the fence check,
 * the numbering and the XADDs cannot interleave with another appender.
 */
const APPEND_SOURCE = `
local fence = tonumber(redis.call('HGET', KEYS[2], 'fence') or '0')
if ARGV[1] ~= '' then
  local token = tonumber(ARGV[1])
  if token < fence then return {0, fence} end
  if token > fence then redis.call('HSET', KEYS[2], 'fence', token) end
end
local first = nil
for i = 4, #ARGV do
  local position = redis.call('HINCRBY', KEYS[2], 'head', 1)
  if first == nil then first = position end
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], position .. '-0', 'e', ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {1, first}
`;
const APPEND_SHA = createHash('sha1').update(APPEND_SOURCE).digest('hex');

/** KEYS: meta. ARGV: token, ttlMs. Raises the fence, never lowers it. */
const FENCE_SOURCE = `
local fence = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if tonumber(ARGV[1]) > fence then redis.call('HSET', KEYS[1], 'fence', ARGV[1]) end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;
const FENCE_SHA = createHash('sha1').update(FENCE_SOURCE).digest('hex');

type StreamEntry = [id: string, fields: string[]];

/**
 * `EventLog` on Redis Streams. Keys, after `keyPrefix` (`{id}` is a hash tag: both keys of a session
 * land in one Redis Cluster slot, so the append script stays single-slot):
 *
 * | key                    | type   | holds                                                       |
 * |------------------------|--------|-------------------------------------------------------------|
 * | `events:{id}`          | stream | one entry per event, entry id `<position>-0`, field `e` = JSON |
 * | `events:{id}:meta`     | hash   | `head` (last position given out), `fence` (highest token)   |
 *
 * Appends run one Lua script (fence check, `HINCRBY head`, `XADD ... MAXLEN ~ maxLength`, `PEXPIRE`);
 * reads are `XREAD` from `<after>-0`, blocking (`XREAD BLOCK`) on a connection of their own for the
 * live tail. Trimming bound: `MAXLEN ~` removes whole stream nodes only, so a session keeps between
 * `maxLength` and `maxLength + stream-node-max-entries` (100 by default) events.
 */
export class RedisEventLog<T> implements EventLog<T> {
  readonly #redis: Redis;
  #ownsClient = false;
  readonly #prefix: string;
  readonly #maxLength: number;
  readonly #ttlMs: number;
  readonly #parse: (value: unknown) => T;
  /** Idle connections for blocking reads (an `XREAD BLOCK` holds its connection until it returns). */
  readonly #idle: Redis[] = [];
  readonly #busy = new Set<Redis>();
  #closed = false;

  constructor(redis: Redis, options: RedisEventLogOptions<T> = {}) {
    this.#redis = redis;
    this.#prefix = options.keyPrefix ?? '';
    this.#maxLength = options.maxLength ?? DEFAULT_EVENT_LOG_MAX_LENGTH;
    this.#ttlMs = options.ttlMs ?? DEFAULT_EVENT_LOG_TTL_MS;
    this.#parse = options.parse ?? ((value) => value as T);
  }

  /** A log with its own client, closed by `close()`. */
  static fromUrl<T>(url: string, options: RedisEventLogOptions<T> = {}): RedisEventLog<T> {
    const log = new RedisEventLog<T>(new Redis(url, { maxRetriesPerRequest: 2 }), options);
    log.#ownsClient = true;
    return log;
  }

  #streamKey(sessionId: string): string {
    return `${this.#prefix}events:{${sessionId}}`;
  }

  #metaKey(sessionId: string): string {
    return `${this.#prefix}events:{${sessionId}}:meta`;
  }

  async #eval(sha: string, source: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.#redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !(error instanceof ReplyError) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.#redis.eval(source, keys.length, ...keys, ...args);
    }
  }

  async #call<R>(what: string, work: () => Promise<R>): Promise<R> {
    if (this.#closed) throw new EnsembleError(ErrorCode.Unavailable, 'The event log is closed');
    try {
      return await work();
    } catch (error) {
      if (error instanceof EnsembleError) throw error;
      throw new EnsembleError(ErrorCode.Unavailable, `Event log ${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async append(sessionId: string, events: readonly T[], options: AppendOptions = {}): Promise<number[]> {
    if (events.length === 0) return [];
    const payloads = events.map((event) => JSON.stringify(event));
    const reply = await this.#call('append', () =>
      this.#eval(APPEND_SHA, APPEND_SOURCE, [this.#streamKey(sessionId), this.#metaKey(sessionId)], [options.fence === undefined ? '' : String(options.fence), this.#maxLength, this.#ttlMs, ...payloads]),
    );
    const [ok, value] = reply as [number, number];
    if (ok === 0) throw fencedOut(sessionId, options.fence ?? 0, value);
    return payloads.map((_, index) => value + index);
  }

  async read(sessionId: string, options: ReadOptions = {}): Promise<LogRead<T>> {
    const after = options.after ?? 0;
    const limit = options.limit ?? DEFAULT_READ_LIMIT;
    const key = this.#streamKey(sessionId);
    const found = await this.#call('read', () => this.#redis.xread('COUNT', limit, 'STREAMS', key, `${after}-0`));
    const entries = found?.[0]?.[1] ?? [];
    const waitMs = options.waitMs ?? 0;
    if (entries.length > 0 || waitMs <= 0 || options.signal?.aborted === true) return this.#decode(entries, after);
    return this.#decode(await this.#blockingRead(key, after, limit, waitMs, options.signal), after);
  }

  async #blockingRead(key: string, after: number, limit: number, waitMs: number, signal: AbortSignal | undefined): Promise<StreamEntry[]> {
    if (this.#closed) return [];
    const connection = this.#idle.pop() ?? this.#redis.duplicate({ maxRetriesPerRequest: 0 });
    this.#busy.add(connection);
    // The only way to end an `XREAD BLOCK` early from here is to drop its connection.
    const abort = (): void => connection.disconnect();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const found = await connection.xread('COUNT', limit, 'BLOCK', Math.max(1, Math.round(waitMs)), 'STREAMS', key, `${after}-0`);
      return found?.[0]?.[1] ?? [];
    } catch (error) {
      if (signal?.aborted === true || this.#closed) return [];
      throw new EnsembleError(ErrorCode.Unavailable, `Event log read failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      signal?.removeEventListener('abort', abort);
      this.#busy.delete(connection);
      if (signal?.aborted === true || this.#closed || connection.status !== 'ready') connection.disconnect();
      else this.#idle.push(connection);
    }
  }

  #decode(entries: StreamEntry[], after: number): LogRead<T> {
    const events: LoggedEvent<T>[] = [];
    for (const [id, fields] of entries) {
      const payload = fields[fields.indexOf('e') + 1];
      if (payload === undefined) continue;
      events.push({ position: Number.parseInt(id, 10), event: this.#parse(JSON.parse(payload)) });
    }
    // Positions are dense: a first position beyond after + 1 means the ones between were trimmed.
    return { events, truncated: (events[0]?.position ?? after + 1) > after + 1 };
  }

  async head(sessionId: string): Promise<number> {
    const head = await this.#call('head', () => this.#redis.hget(this.#metaKey(sessionId), 'head'));
    return head === null ? 0 : Number.parseInt(head, 10);
  }

  async fence(sessionId: string, token: number): Promise<void> {
    await this.#call('fence', () => this.#eval(FENCE_SHA, FENCE_SOURCE, [this.#metaKey(sessionId)], [token, this.#ttlMs]));
  }

  async expire(sessionId: string, ttlMs: number): Promise<void> {
    await this.#call('expire', () => this.#redis.multi().pexpire(this.#streamKey(sessionId), ttlMs).pexpire(this.#metaKey(sessionId), ttlMs).exec());
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const connection of [...this.#idle, ...this.#busy]) connection.disconnect();
    this.#idle.length = 0;
    this.#busy.clear();
    if (this.#ownsClient) await this.#redis.quit().catch(() => undefined);
  }
}
