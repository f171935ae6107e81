import type { ExecutionPlan, FinalSessionStatus, NodeResult, Session, SessionPatch, SessionRecord, SessionRequest, SessionTombstone } from '@ensemble/protocol';

/** Default lifetime of an untouched session: long enough for a slow human approval. */
export const DEFAULT_SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** How long a finished session's tombstone answers "it finished" before the id is simply unknown. */
export const DEFAULT_TOMBSTONE_TTL_MS = 60 * 60 * 1000;
export const DEFAULT_LEASE_TTL_MS = 30_000;

export interface CreateSessionInput {
  /** Caller identity (the gateway's principal). */
  owner: string;
  /** The original request, so the workflow can be resumed from the id alone. */
  request: SessionRequest;
  dag?: ExecutionPlan | null;
}

export interface LeaseOptions {
  /** Lease lifetime; renewals extend it by this much. Default 30 s. */
  ttlMs?: number;
  /** How long to keep trying when another holder has it, before failing with `conflict`. Default 0. */
  waitMs?: number;
  /** Renew every `ttlMs / 3` until released. Default false for `acquireLease`, true for `withLock`. */
  autoRenew?: boolean;
  /** Called after each successful renewal (for logs and tests). */
  onRenew?: () => void;
}

/**
 * Exclusive right to work on a session, held by one process at a time (Redis: `SET NX PX` with a random
 * token). It expires unless renewed, so a crashed holder's session becomes resumable.
 */
export interface SessionLease {
  readonly sessionId: string;
  readonly token: string;
  /**
   * Fencing token: greater than every earlier holder's of this session's lease (1, 2, 3...). Writes to
   * stores that check it (the event log's `fence`) are refused once a newer holder has written, so a
   * holder that was paused past its lease cannot overwrite its successor's work.
   */
  readonly fencingToken: number;
  readonly ttlMs: number;
  /**
   * Aborts (reason: `conflict` EnsembleError) when the lease is found lost: a renewal saw another token
   * or no lock, or renewals failed until the lease must have expired. Stop writing when it fires: pass
   * it as the `signal` of the DAG run.
   */
  readonly lost: AbortSignal;
  /** Extends the lease by `ttlMs`. Throws `conflict` (and aborts `lost`) when it is no longer held. */
  renew(): Promise<void>;
  /** Stops renewing and frees the lock if still held (compare-and-delete). Idempotent; never throws `conflict`. */
  release(): Promise<void>;
}

export interface FinishOutcome {
  status: FinalSessionStatus;
  errorType?: string | null;
  errorMessage?: string | null;
}

export interface ListResumableOptions {
  /** Most sessions returned (oldest activity first). Default 100. */
  limit?: number;
  /** Ignore sessions with activity more recent than this, e.g. one being created right now. Default 0. */
  minIdleMs?: number;
}

/**
 * Durable workflow sessions. Contract shared by every implementation (checked by the conformance suite
 * in `@ensemble/sessions/testing`):
 *
 * - Ids are server-generated UUIDs. Every read and write names the owner; a session of another owner
 *   behaves exactly like a missing one (`not_found`, 404), so callers never learn it exists.
 * - Errors are `EnsembleError`s: `not_found` (404) for missing, expired or foreign sessions;
 *   `conflict` (409) for a lease held by someone else; `invalid_request` (400) for a bad patch or node
 *   result; `unavailable` (503) when the backend keeps failing after retries.
 * - Storage grows with work done: node results are written one node at a time beside the record, never
 *   as a copy of the whole state. Every write refreshes the session's TTL (sliding expiry).
 * - Reads return copies; mutating them changes nothing stored.
 * - Only `active` and `waiting_approval` sessions are stored. `finish()` deletes the session and leaves
 *   a tombstone for `tombstoneTtlMs`: meanwhile `get()` fails with `not_found` whose `wireCode` is
 *   `session_finished` and `details` carry `{ status, finished_at, error_type, error_message }`; after
 *   that the id is unknown like any other.
 * - Locking is advisory: writes do not check the lease, so callers must hold one (`withLock`) while they
 *   run a workflow. `update()` is atomic on its own (compare-and-set), so concurrent patches never lose
 *   one another.
 */
export interface SessionStore {
  create(input: CreateSessionInput): Promise<Session>;
  /** The record plus every node result. */
  get(id: string, owner: string): Promise<Session>;
  /** The owner's stored sessions (records without node results), newest first. */
  list(owner: string, options?: { limit?: number }): Promise<SessionRecord[]>;
  /**
   * Changes record fields (never node results). A function receives the current record and returns the
   * patch; it may be called more than once when writers race, so it must be pure. A final status is
   * rejected (`invalid_request`): use `finish()`.
   */
  update(id: string, owner: string, patch: SessionPatch | ((current: SessionRecord) => SessionPatch)): Promise<SessionRecord>;
  /** Stores one node's result (replacing that node's previous one). */
  putNodeResult(id: string, owner: string, nodeId: string, result: NodeResult): Promise<void>;
  /** Ends the session: deletes it (record, node results, lock, index entries) and leaves a tombstone. */
  finish(id: string, owner: string, outcome: FinishOutcome): Promise<SessionTombstone>;
  /** Deletes the session without a tombstone (administrative removal). */
  delete(id: string, owner: string): Promise<void>;
  acquireLease(id: string, owner: string, options?: LeaseOptions): Promise<SessionLease>;
  /** Runs `fn` holding the lease (auto-renewed by default) and releases it afterwards, even on error. */
  withLock<T>(id: string, owner: string, fn: (lease: SessionLease) => Promise<T>, options?: LeaseOptions): Promise<T>;
  /**
   * `active` sessions nobody holds a lease on (their orchestrator died): what a restarted orchestrator
   * picks up. Sessions `waiting_approval` are not included: they wait for a human, not a process.
   */
  listResumable(options?: ListResumableOptions): Promise<SessionRecord[]>;
  /** Frees resources the store owns (a client made by `fromUrl`); injected clients are left open. */
  close(): Promise<void>;
}
