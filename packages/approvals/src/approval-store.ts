import { randomUUID } from 'node:crypto';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import type { ApprovalKind, ApprovalRecord, ApprovalStatus } from '@ensemble/protocol';

/**
 * Durable records of human decisions the orchestrator waits for (one per paused node).
 *
 * Contract (every implementation runs `describeApprovalStoreConformance`):
 * - **Owner scope.** Every read and write names the owner (the principal); another owner's approval
 *   reads as missing (`get` → undefined, `decide` → `not_found`), exactly like an unknown id.
 * - **Decide exactly once.** `decide` moves `pending` to `approved` / `rejected` atomically; a second
 *   decision, concurrent ones included, gets `conflict` (with the current status in `details`).
 * - **Expiry.** `claimExpired` moves every `pending` approval whose `expires_at` has passed to `expired`
 *   and returns it; each approval is claimed once in total, whichever handle (process) asks first, so
 *   the timeout action runs exactly once. A decided approval is never claimed.
 * - **Listing.** Pending first, then newest `requested_at` first (id breaks ties); filters by status and
 *   session; pages with an opaque cursor (see `pageOf`).
 * - **Wake-ups.** Every decision and every expiry leaves its session in a durable wake-up list, in the
 *   same atomic step, until `clearWakeup` says the workflow took the decisions up. Whoever delivers
 *   decisions (an orchestrator's scan) finds them there after any crash or restart: a decided
 *   approval is never forgotten by a workflow that happened not to be listening.
 */
export interface ApprovalStore {
  create(input: NewApproval): Promise<ApprovalRecord>;
  get(id: string, owner: string): Promise<ApprovalRecord | undefined>;
  list(owner: string, options?: ListApprovalsOptions): Promise<ApprovalPage>;
  decide(id: string, owner: string, decision: ApprovalDecisionInput): Promise<ApprovalRecord>;
  /** Claims (marks `expired`) up to `limit` pending approvals due by now, each exactly once. */
  claimExpired(limit?: number): Promise<ApprovalRecord[]>;
  /** Milliseconds until the earliest pending deadline (undefined when none), for a timer. */
  nextDeadlineIn(): Promise<number | undefined>;
  /** Sessions with decisions (or expiries) not yet taken up, whose latest is at least `minAgeMs` old; oldest first. */
  wakeups(options?: { limit?: number; minAgeMs?: number }): Promise<ApprovalWakeup[]>;
  /** The decisions up to `wakeup.at` are taken up; a later one keeps the session listed. */
  clearWakeup(wakeup: ApprovalWakeup): Promise<void>;
  close(): Promise<void>;
}

/** A session whose workflow has decided (or expired) approvals to take up. */
export interface ApprovalWakeup {
  sessionId: string;
  owner: string;
  /** When its latest decision or expiry happened (ms since the epoch). */
  at: number;
}

export interface NewApproval {
  owner: string;
  sessionId: string;
  nodeId: string;
  agent: string | null;
  kind: ApprovalKind;
  action: string;
  reason?: string | null;
  risks?: readonly string[];
  impact?: string | null;
  arguments?: Record<string, unknown> | null;
  argumentsSchema?: Record<string, unknown> | null;
  question?: string | null;
  /** Seconds until the approval expires. */
  timeoutSeconds: number;
}

export interface ListApprovalsOptions {
  status?: ApprovalStatus;
  sessionId?: string;
  /** 1..100, default 20. */
  limit?: number;
  cursor?: string;
}

export interface ApprovalPage {
  data: ApprovalRecord[];
  nextCursor: string | null;
}

export interface ApprovalDecisionInput {
  decision: 'approved' | 'rejected';
  decidedBy: string;
  comment?: string | null;
  /** Edited arguments (approve with changes); the requested ones stay in `requested_arguments`. */
  arguments?: Record<string, unknown>;
  /** The answer to a kind `input` approval. */
  answer?: string;
}

export interface ApprovalStoreOptions {
  /** The clock (ms since the epoch); tests inject one. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;
export const DEFAULT_CLAIM_LIMIT = 100;
export const DEFAULT_WAKEUP_LIMIT = 100;

/** A new pending record (ids are server-generated UUIDs). */
export function newApprovalRecord(input: NewApproval, now: number): ApprovalRecord {
  const args = input.arguments ?? null;
  return {
    object: 'approval',
    id: randomUUID(),
    owner: input.owner,
    session_id: input.sessionId,
    node_id: input.nodeId,
    agent: input.agent,
    kind: input.kind,
    action: input.action,
    reason: input.reason ?? null,
    risks: [...(input.risks ?? [])],
    impact: input.impact ?? null,
    arguments: args === null ? null : structuredClone(args),
    arguments_schema: input.argumentsSchema === undefined || input.argumentsSchema === null ? null : structuredClone(input.argumentsSchema),
    requested_arguments: args === null ? null : structuredClone(args),
    status: 'pending',
    requested_at: new Date(now).toISOString(),
    expires_at: new Date(now + input.timeoutSeconds * 1000).toISOString(),
    decided_at: null,
    decided_by: null,
    comment: null,
    question: input.question ?? null,
    answer: null,
  };
}

/** The fields a decision changes. */
export type DecisionPatch = Pick<ApprovalRecord, 'status' | 'decided_at' | 'decided_by' | 'comment' | 'arguments' | 'answer'>;

export function decisionPatch(record: ApprovalRecord, input: ApprovalDecisionInput, now: number): DecisionPatch {
  return {
    status: input.decision,
    decided_at: new Date(now).toISOString(),
    decided_by: input.decidedBy,
    comment: input.comment ?? null,
    arguments: input.arguments === undefined ? record.arguments : structuredClone(input.arguments),
    answer: input.answer ?? null,
  };
}

export function expiryPatch(record: ApprovalRecord, now: number): DecisionPatch {
  return { status: 'expired', decided_at: new Date(now).toISOString(), decided_by: null, comment: null, arguments: record.arguments, answer: null };
}

export function approvalNotFound(id: string): EnsembleError {
  return new EnsembleError(ErrorCode.NotFound, `No approval ${id}`, { wireCode: 'approval_not_found', details: { approval_id: id } });
}

export function alreadyDecided(id: string, status: string): EnsembleError {
  return new EnsembleError(ErrorCode.Conflict, `Approval ${id} is already ${status}`, { wireCode: 'approval_already_decided', details: { approval_id: id, status } });
}

/** Sort key: pending first, then newest first, then id. Encoded as the opaque cursor. */
interface SortKey {
  pending: boolean;
  requestedAt: number;
  id: string;
}

function sortKey(record: ApprovalRecord): SortKey {
  return { pending: record.status === 'pending', requestedAt: Date.parse(record.requested_at), id: record.id };
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (a.pending !== b.pending) return a.pending ? -1 : 1;
  if (a.requestedAt !== b.requestedAt) return b.requestedAt - a.requestedAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify([key.pending ? 0 : 1, key.requestedAt, key.id])).toString('base64url');
}

function decodeCursor(cursor: string): SortKey {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 3 && (value[0] === 0 || value[0] === 1) && typeof value[1] === 'number' && typeof value[2] === 'string') {
      return { pending: value[0] === 0, requestedAt: value[1], id: value[2] };
    }
  } catch {
    // fall through to the error below
  }
  throw new EnsembleError(ErrorCode.InvalidRequest, 'Invalid cursor', { wireCode: 'invalid_cursor', details: { param: 'cursor' } });
}

export function validateLimit(limit: number | undefined): number {
  const value = limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIST_LIMIT) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `limit must be an integer from 1 to ${MAX_LIST_LIMIT}`, { details: { param: 'limit' } });
  }
  return value;
}

/**
 * One page of an owner's records (already loaded), filtered and ordered per the contract. A cursor is
 * the sort key of the last item returned: the next page starts strictly after it. It never goes stale;
 * a record decided between two pages moves behind the pending ones and may be listed again there.
 */
export function pageOf(records: readonly ApprovalRecord[], options: ListApprovalsOptions = {}): ApprovalPage {
  const limit = validateLimit(options.limit);
  const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const matching = records
    .filter((record) => (options.status === undefined || record.status === options.status) && (options.sessionId === undefined || record.session_id === options.sessionId))
    .map((record) => ({ record, key: sortKey(record) }))
    .filter(({ key }) => after === undefined || compareKeys(key, after) > 0)
    .sort((a, b) => compareKeys(a.key, b.key));
  const page = matching.slice(0, limit);
  const last = page.at(-1);
  return { data: page.map(({ record }) => record), nextCursor: matching.length > limit && last !== undefined ? encodeCursor(last.key) : null };
}
