import { EnsembleError, ErrorCode } from '@ensemble/protocol';

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
} from './event-log.js';

export interface InMemoryEventLogOptions extends EventLogOptions {
  /** Clock for TTLs (tests move it by hand). Default `Date.now`. */
  now?: () => number;
}

interface SessionLog<T> {
  entries: LoggedEvent<T>[];
  head: number;
  fence: number;
  expiresAt: number;
}

/**
 * `EventLog` in one process (tests, single-instance runs). Trims exactly to `maxLength`; events are
 * copied on append and on read, so callers never share objects with the log.
 */
export class InMemoryEventLog<T> implements EventLog<T> {
  readonly #sessions = new Map<string, SessionLog<T>>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #maxLength: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #closed = false;

  constructor(options: InMemoryEventLogOptions = {}) {
    this.#maxLength = options.maxLength ?? DEFAULT_EVENT_LOG_MAX_LENGTH;
    this.#ttlMs = options.ttlMs ?? DEFAULT_EVENT_LOG_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  #live(sessionId: string): SessionLog<T> | undefined {
    const log = this.#sessions.get(sessionId);
    if (log !== undefined && log.expiresAt <= this.#now()) {
      this.#sessions.delete(sessionId);
      return undefined;
    }
    return log;
  }

  #open(sessionId: string): SessionLog<T> {
    let log = this.#live(sessionId);
    if (log === undefined) {
      log = { entries: [], head: 0, fence: 0, expiresAt: this.#now() + this.#ttlMs };
      this.#sessions.set(sessionId, log);
    }
    return log;
  }

  #checkOpen(): void {
    if (this.#closed) throw new EnsembleError(ErrorCode.Unavailable, 'The event log is closed');
  }

  async append(sessionId: string, events: readonly T[], options: AppendOptions = {}): Promise<number[]> {
    this.#checkOpen();
    if (events.length === 0) return [];
    const log = this.#open(sessionId);
    if (options.fence !== undefined) {
      if (options.fence < log.fence) throw fencedOut(sessionId, options.fence, log.fence);
      log.fence = options.fence;
    }
    const positions: number[] = [];
    for (const event of events) {
      log.head += 1;
      log.entries.push({ position: log.head, event: structuredClone(event) });
      positions.push(log.head);
    }
    if (log.entries.length > this.#maxLength) log.entries.splice(0, log.entries.length - this.#maxLength);
    log.expiresAt = this.#now() + this.#ttlMs;
    this.#wake(sessionId);
    return positions;
  }

  async read(sessionId: string, options: ReadOptions = {}): Promise<LogRead<T>> {
    this.#checkOpen();
    const after = options.after ?? 0;
    const found = this.#readNow(sessionId, after, options.limit ?? DEFAULT_READ_LIMIT);
    if (found.events.length > 0 || (options.waitMs ?? 0) <= 0 || options.signal?.aborted === true) return found;
    await this.#waitForAppend(sessionId, options.waitMs ?? 0, options.signal);
    if (this.#closed) return { events: [], truncated: false };
    return this.#readNow(sessionId, after, options.limit ?? DEFAULT_READ_LIMIT);
  }

  #readNow(sessionId: string, after: number, limit: number): LogRead<T> {
    const log = this.#live(sessionId);
    if (log === undefined) return { events: [], truncated: false };
    const start = log.entries.findIndex((entry) => entry.position > after);
    if (start === -1) return { events: [], truncated: false };
    const events = log.entries.slice(start, start + limit).map((entry) => ({ position: entry.position, event: structuredClone(entry.event) }));
    return { events, truncated: (events[0]?.position ?? after + 1) > after + 1 };
  }

  #waitForAppend(sessionId: string, waitMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(sessionId);
      if (waiters === undefined) {
        waiters = new Set();
        this.#waiters.set(sessionId, waiters);
      }
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const set = this.#waiters.get(sessionId);
        set?.delete(done);
        if (set?.size === 0) this.#waiters.delete(sessionId);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }

  #wake(sessionId: string): void {
    for (const wake of [...(this.#waiters.get(sessionId) ?? [])]) wake();
  }

  async head(sessionId: string): Promise<number> {
    this.#checkOpen();
    return this.#live(sessionId)?.head ?? 0;
  }

  async fence(sessionId: string, token: number): Promise<void> {
    this.#checkOpen();
    const log = this.#open(sessionId);
    log.fence = Math.max(log.fence, token);
  }

  async expire(sessionId: string, ttlMs: number): Promise<void> {
    this.#checkOpen();
    const log = this.#live(sessionId);
    if (log !== undefined) log.expiresAt = this.#now() + ttlMs;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const sessionId of [...this.#waiters.keys()]) this.#wake(sessionId);
    this.#sessions.clear();
  }
}
