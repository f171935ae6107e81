import { EnsembleError, ErrorCode } from '@ensemble/protocol';

/**
 * A per-session, append-only log of workflow events: the one numbered record of what happened.
 *
 * Contract (every implementation runs `describeEventLogConformance`):
 * - **Positions.** Each appended event gets a position: an integer, 1 for a session's first event, then
 *   dense and strictly increasing in append order (no gaps, no reuse while the log lives). The position
 *   is the only numbering of an event: streams carry it (the SSE `id:`), clients resume after it.
 * - **Ordering.** Events of one `append()` call get consecutive positions in array order. Concurrent
 *   appenders to one session (other processes included) are serialised: each call's events stay
 *   together and every reader sees the same order. Sessions are independent.
 * - **Fencing.** A lease holder passes its fencing token (`AppendOptions.fence`). The log remembers the
 *   highest token it has seen for the session (raised by `fence()` or by an append with a higher token)
 *   and refuses, with `conflict`, an append whose token is lower: a paused old owner cannot write after
 *   a takeover. Appends without a token are not fenced (single-process use and tests).
 * - **Reads** return copies, oldest first, of the events after a position (`after`, default 0 = from
 *   the start), at most `limit`. An unknown or expired session reads as empty. With `waitMs` a read
 *   that finds nothing waits up to that long for the next append (the live tail), then returns what
 *   arrived, or nothing on timeout or abort. It never throws for an abort.
 * - **Trimming.** The log keeps at least the newest `maxLength` events of a session; an implementation
 *   may keep a bounded number more (`EventLogOptions.maxLength` states the bound). When events after
 *   `after` were trimmed away, the read says so with `truncated: true` and returns the oldest events
 *   still kept: the reader knows it has a gap.
 * - **TTL.** Every append extends the session's log to live `ttlMs` past it (the session store's own
 *   sliding TTL). `expire()` sets it explicitly, for example to the tombstone's when the session ends.
 *   After the TTL the log is gone and positions start again at 1.
 * - **Errors.** `conflict` (fenced out); `unavailable` when the backing store cannot be reached.
 */
export interface EventLog<T> {
  /**
   * Appends `events` (JSON values) in order and resolves with their positions. An empty array appends
   * nothing and resolves with `[]`.
   */
  append(sessionId: string, events: readonly T[], options?: AppendOptions): Promise<number[]>;
  /** The events after `options.after`; see the contract for waiting and trimming. */
  read(sessionId: string, options?: ReadOptions): Promise<LogRead<T>>;
  /** Position of the newest event (0 when the log is empty or gone). */
  head(sessionId: string): Promise<number>;
  /**
   * Raises the session's fence to `token` (never lowers it): appends with a lower token fail from now
   * on. A new lease holder calls this before its first write.
   */
  fence(sessionId: string, token: number): Promise<void>;
  /** Sets the remaining lifetime of the session's log. */
  expire(sessionId: string, ttlMs: number): Promise<void>;
  /** Releases connections and wakes every waiting read; later calls fail. */
  close(): Promise<void>;
}

export interface AppendOptions {
  /** The writer's fencing token (the lease's); lower than the session's fence = refused. */
  fence?: number;
}

export interface ReadOptions {
  /** Read the events after this position. Default 0: from the first. */
  after?: number;
  /** At most this many events. Default 1000. */
  limit?: number;
  /** When there is nothing after `after`, wait up to this long for an append. Default 0. */
  waitMs?: number;
  /** Ends a waiting read early (it then resolves with what it has, usually nothing). */
  signal?: AbortSignal;
}

export interface LoggedEvent<T> {
  readonly position: number;
  readonly event: T;
}

export interface LogRead<T> {
  events: LoggedEvent<T>[];
  /** True when events right after `after` were trimmed away: `events` does not continue from `after`. */
  truncated: boolean;
}

export interface EventLogOptions {
  /**
   * Events kept per session (the newest). The bound is implementation-specific: the in-memory log
   * keeps exactly this many; Redis trims approximately (`MAXLEN ~`) and keeps up to one stream node
   * more (`stream-node-max-entries`, 100 by default). Default 10 000.
   */
  maxLength?: number;
  /** Sliding lifetime of a session's log, extended by every append. Default 7 days (the session's). */
  ttlMs?: number;
}

export const DEFAULT_EVENT_LOG_MAX_LENGTH = 10_000;
export const DEFAULT_EVENT_LOG_TTL_MS = 7 * 24 * 3600_000;
export const DEFAULT_READ_LIMIT = 1_000;

/** The error an append gets when a newer lease holder has fenced the session. */
export function fencedOut(sessionId: string, token: number, fence: number): EnsembleError {
  return new EnsembleError(ErrorCode.Conflict, `Session ${sessionId} was taken over (fencing token ${token} < ${fence}); this writer no longer owns it`, {
    wireCode: 'session_fenced',
    details: { session_id: sessionId, token, fence },
  });
}

export interface FollowOptions {
  after?: number;
  signal?: AbortSignal;
  /** Longest single wait between appends before polling again. Default 10 s. */
  waitMs?: number;
  /** Called when events were trimmed away before the reader got them (default: ignore). */
  onTruncated?: (after: number, next: number) => void;
}

/**
 * Every event after `after`, then each new one as it is appended, until `signal` aborts or the caller
 * stops iterating. The live tail of a session, from any process.
 */
export async function* followEventLog<T>(log: EventLog<T>, sessionId: string, options: FollowOptions = {}): AsyncGenerator<LoggedEvent<T>> {
  let after = options.after ?? 0;
  const waitMs = options.waitMs ?? 10_000;
  while (options.signal?.aborted !== true) {
    const read = await log.read(sessionId, { after, waitMs, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    const first = read.events[0];
    if (read.truncated && first !== undefined) options.onTruncated?.(after, first.position);
    for (const logged of read.events) {
      after = logged.position;
      yield logged;
    }
  }
}
