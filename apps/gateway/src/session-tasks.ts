import type { Redis } from 'ioredis';

/**
 * Which orchestrator task is working on a session, and whether a client is reading its stream, so a
 * client that lost its connection can re-attach with only the session id while a second, concurrent
 * request on the session is still refused (409). Scoped by owner: a lookup by another caller finds
 * nothing, exactly as for an unknown session. Entries are hints, not state: a missing or stale one only
 * means the client gets the orchestrator's own answer (409 while it runs, the result once it finished).
 */
export interface SessionTaskIndex {
  remember(sessionId: string, owner: string, taskId: string): Promise<void>;
  /** The task last recorded for the session by this owner; `undefined` when none (or another owner's). */
  lookup(sessionId: string, owner: string): Promise<string | undefined>;
  /**
   * Marks `reader` as the client reading the session's stream for `ttlMs` (renew by calling again).
   * `exclusive`: only when nobody else reads it (a re-attach); otherwise the reader takes over (the
   * request the orchestrator itself admitted). Resolves whether `reader` now holds it.
   */
  attach(sessionId: string, reader: string, options: { ttlMs: number; exclusive: boolean }): Promise<boolean>;
  /** Lets go of the session if `reader` still holds it. */
  detach(sessionId: string, reader: string): Promise<void>;
}

/** How long an entry is kept: the orchestrator keeps its tasks a day by default (`A2A_TASK_TTL_SECONDS`). */
export const SESSION_TASK_TTL_SECONDS = 24 * 60 * 60;

interface Entry {
  owner: string;
  taskId: string;
}

function parseEntry(raw: string | null | undefined): Entry | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return undefined;
    const { owner, taskId } = value as Record<string, unknown>;
    return typeof owner === 'string' && typeof taskId === 'string' ? { owner, taskId } : undefined;
  } catch {
    return undefined;
  }
}

/** For one gateway process and tests. */
export class InMemorySessionTaskIndex implements SessionTaskIndex {
  readonly #entries = new Map<string, string>();
  readonly #readers = new Map<string, { reader: string; until: number }>();

  async attach(sessionId: string, reader: string, options: { ttlMs: number; exclusive: boolean }): Promise<boolean> {
    const current = this.#readers.get(sessionId);
    if (options.exclusive && current !== undefined && current.reader !== reader && current.until > Date.now()) return false;
    this.#readers.set(sessionId, { reader, until: Date.now() + options.ttlMs });
    return true;
  }

  async detach(sessionId: string, reader: string): Promise<void> {
    if (this.#readers.get(sessionId)?.reader === reader) this.#readers.delete(sessionId);
  }

  async remember(sessionId: string, owner: string, taskId: string): Promise<void> {
    this.#entries.set(sessionId, JSON.stringify({ owner, taskId }));
  }

  async lookup(sessionId: string, owner: string): Promise<string | undefined> {
    const entry = parseEntry(this.#entries.get(sessionId));
    return entry?.owner === owner ? entry.taskId : undefined;
  }
}

/** Deletes the reader key only while it still names this reader (another may have taken over). */
const DETACH = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Shared by every gateway replica. Keys after the prefix: `gateway:session-task:{id}` (JSON owner and
 * task id, a day's TTL) and `gateway:session-reader:{id}` (the reading request's token, `SET PX`, kept
 * alive while it reads, so a crashed gateway blocks re-attaching for one TTL at most).
 */
export class RedisSessionTaskIndex implements SessionTaskIndex {
  constructor(
    private readonly redis: Redis,
    private readonly options: { keyPrefix: string; ttlSeconds?: number },
  ) {}

  async remember(sessionId: string, owner: string, taskId: string): Promise<void> {
    await this.redis.set(this.#key(sessionId), JSON.stringify({ owner, taskId }), 'EX', this.options.ttlSeconds ?? SESSION_TASK_TTL_SECONDS);
  }

  async lookup(sessionId: string, owner: string): Promise<string | undefined> {
    const entry = parseEntry(await this.redis.get(this.#key(sessionId)));
    return entry?.owner === owner ? entry.taskId : undefined;
  }

  async attach(sessionId: string, reader: string, options: { ttlMs: number; exclusive: boolean }): Promise<boolean> {
    const key = this.#readerKey(sessionId);
    if (!options.exclusive) {
      await this.redis.set(key, reader, 'PX', options.ttlMs);
      return true;
    }
    if ((await this.redis.set(key, reader, 'PX', options.ttlMs, 'NX')) === 'OK') return true;
    // Renewing our own hold is fine; anyone else's means a client is reading right now.
    if ((await this.redis.get(key)) !== reader) return false;
    await this.redis.set(key, reader, 'PX', options.ttlMs, 'XX');
    return true;
  }

  async detach(sessionId: string, reader: string): Promise<void> {
    await this.redis.eval(DETACH, 1, this.#readerKey(sessionId), reader);
  }

  #key(sessionId: string): string {
    return `${this.options.keyPrefix}gateway:session-task:${sessionId}`;
  }

  #readerKey(sessionId: string): string {
    return `${this.options.keyPrefix}gateway:session-reader:${sessionId}`;
  }
}
