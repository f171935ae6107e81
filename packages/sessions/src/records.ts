import { randomUUID } from 'node:crypto';

import {
  EnsembleError,
  ErrorCode,
  FinalSessionStatus,
  NodeId,
  NodeResult,
  type Session,
  SessionPatch,
  SessionRecord,
  SessionRequest,
  type SessionTombstone,
} from '@ensemble/protocol';
import { z } from 'zod';

import type { CreateSessionInput, FinishOutcome } from './session-store.js';

/** Logic both stores share, so they cannot drift apart on validation or error shapes. */

const SessionId = z.uuid();

export function newRecord(input: CreateSessionInput, now: number): SessionRecord {
  if (input.owner === '') throw new EnsembleError(ErrorCode.InvalidRequest, 'A session needs an owner');
  const request = SessionRequest.safeParse(input.request);
  if (!request.success) throw invalid('request', request.error);
  const at = new Date(now).toISOString();
  return SessionRecord.parse({
    id: randomUUID(),
    owner: input.owner,
    status: 'active',
    createdAt: at,
    updatedAt: at,
    request: request.data,
    dag: input.dag ?? null,
    currentNodes: [],
    approvalContext: null,
    errorType: null,
    errorMessage: null,
  });
}

/** Applies a patch; rejects final statuses (they go through `finish`) and invalid values. */
export function applyPatch(current: SessionRecord, patch: SessionPatch, now: number): SessionRecord {
  const parsed = SessionPatch.safeParse(patch);
  if (!parsed.success) throw invalid('patch', parsed.error);
  if (parsed.data.status !== undefined && FinalSessionStatus.safeParse(parsed.data.status).success) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `Status "${parsed.data.status}" ends the session: call finish() instead of update()`);
  }
  return { ...current, ...parsed.data, updatedAt: new Date(Math.max(now, Date.parse(current.updatedAt))).toISOString() };
}

export function checkNodeResult(nodeId: string, result: NodeResult): NodeResult {
  if (!NodeId.safeParse(nodeId).success) throw new EnsembleError(ErrorCode.InvalidRequest, `"${nodeId}" is not a valid node id`);
  const parsed = NodeResult.safeParse(result);
  if (!parsed.success) throw invalid('node result', parsed.error);
  return parsed.data;
}

export function tombstoneFor(record: SessionRecord, outcome: FinishOutcome, now: number): SessionTombstone {
  const status = FinalSessionStatus.safeParse(outcome.status);
  if (!status.success) throw new EnsembleError(ErrorCode.InvalidRequest, `finish() needs a final status (completed, failed, cancelled), not "${String(outcome.status)}"`);
  return { id: record.id, owner: record.owner, status: status.data, finishedAt: new Date(now).toISOString(), errorType: outcome.errorType ?? null, errorMessage: outcome.errorMessage ?? null };
}

/** Ids that cannot exist are answered without touching the backend. */
export function isSessionId(id: string): boolean {
  return SessionId.safeParse(id).success;
}

export function notFound(id: string): EnsembleError {
  return new EnsembleError(ErrorCode.NotFound, `Session ${id} not found (it may have expired)`, { wireCode: 'session_not_found' });
}

/** The answer for a finished session: still 404 (it is gone), but saying how it ended. */
export function finished(tombstone: SessionTombstone): EnsembleError {
  return new EnsembleError(ErrorCode.NotFound, `Session ${tombstone.id} has ${tombstone.status === 'cancelled' ? 'been cancelled' : tombstone.status} and was deleted`, {
    wireCode: 'session_finished',
    details: { status: tombstone.status, finished_at: tombstone.finishedAt, error_type: tombstone.errorType, error_message: tombstone.errorMessage },
  });
}

export function conflict(id: string): EnsembleError {
  return new EnsembleError(ErrorCode.Conflict, `Session ${id} is busy: another request holds its lock`, { wireCode: 'session_locked' });
}

export function withNodes(record: SessionRecord, nodes: Record<string, NodeResult>): Session {
  return { ...record, nodes };
}

function invalid(what: string, error: z.ZodError): EnsembleError {
  const issue = error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
  return new EnsembleError(ErrorCode.InvalidRequest, `Invalid session ${what}${where}: ${issue?.message ?? 'invalid'}`, { details: { issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) } });
}
