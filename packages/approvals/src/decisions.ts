import { type ApprovalAnswer, type ApprovalDecision, type ApprovalRecord, EnsembleError, ErrorCode } from '@ensemble/protocol';

import type { ApprovalStore } from './approval-store.js';

/** A node paused for a decision, and the approval recorded for its pause (absent for pauses made without a store). */
export interface PausedNode {
  node: string;
  approvalId?: string;
}

/**
 * What an approval that expired undecided does (`APPROVAL_TIMEOUT_ACTION`): `reject` (the default) tells
 * the agent no and the workflow ends rejected; `approve` lets the agent go on with the requested
 * arguments; `fail` tells the agent no and fails the workflow (`approval_expired`).
 */
export const APPROVAL_TIMEOUT_ACTIONS = ['reject', 'approve', 'fail'] as const;
export type ApprovalTimeoutAction = (typeof APPROVAL_TIMEOUT_ACTIONS)[number];
export const DEFAULT_APPROVAL_TIMEOUT_ACTION: ApprovalTimeoutAction = 'reject';

export interface CollectedDecisions {
  /** What each decided node resumes with (the engine's `approvals`); undecided nodes stay waiting. */
  decisions: Record<string, ApprovalDecision>;
  /** The records behind `decisions`, for the `approval_decided` events and the audit log. */
  decided: ApprovalRecord[];
  /** Approvals still pending after this turn. */
  pending: ApprovalRecord[];
  /** Nodes whose approval expired undecided (they resume as the timeout action says). */
  expired: string[];
}

/** A record's decision as the engine takes it; an expiry counts as `expiredAs` (the timeout action). */
export function toDecision(record: ApprovalRecord, expiredAs: 'approved' | 'rejected' = 'rejected'): ApprovalDecision {
  const approved = record.status === 'approved' || (record.status === 'expired' && expiredAs === 'approved');
  return {
    approved,
    comment: record.status === 'expired' ? `No decision before ${record.expires_at}` : (record.answer ?? record.comment),
    decidedBy: record.decided_by,
    ...(record.arguments === null ? {} : { arguments: record.arguments }),
  };
}

/**
 * The decisions a resumed workflow runs with. Each paused node's approval record is read: decided ones
 * (through `POST /v1/approvals/{id}`, or expired) resume their node, pending ones keep it waiting. A chat
 * answer ("approve" / "reject" as the next message) decides the pending records when there is exactly
 * one (or only pauses without a record): with several, the caller must say which (`conflict` listing ids).
 */
export async function collectDecisions(
  store: ApprovalStore,
  owner: string,
  paused: readonly PausedNode[],
  chatAnswer: ApprovalAnswer | undefined,
  timeoutAction: ApprovalTimeoutAction = DEFAULT_APPROVAL_TIMEOUT_ACTION,
): Promise<CollectedDecisions> {
  const records = new Map<string, ApprovalRecord>();
  for (const node of paused) {
    if (node.approvalId === undefined) continue;
    const record = await store.get(node.approvalId, owner);
    if (record !== undefined) records.set(node.node, record);
  }
  const pendingIds = [...records.values()].filter((record) => record.status === 'pending');
  if (chatAnswer !== undefined && pendingIds.length > 1) {
    throw new EnsembleError(ErrorCode.Conflict, `Several approvals are pending (${pendingIds.map((record) => record.id).join(', ')}); decide each with POST /v1/approvals/{id}`, {
      wireCode: 'approval_ambiguous',
      details: { approval_ids: pendingIds.map((record) => record.id) },
    });
  }
  const decisions: Record<string, ApprovalDecision> = {};
  const decided: ApprovalRecord[] = [];
  const pending: ApprovalRecord[] = [];
  const expired: string[] = [];
  for (const node of paused) {
    let record = records.get(node.node);
    if (record === undefined) {
      // A pause without a record: only a chat answer can decide it (the behaviour before records).
      if (chatAnswer !== undefined) decisions[node.node] = { approved: chatAnswer.decision === 'approve', comment: chatAnswer.comment ?? null, decidedBy: owner };
      continue;
    }
    if (record.status === 'pending' && chatAnswer !== undefined) {
      try {
        record = await store.decide(record.id, owner, { decision: chatAnswer.decision === 'approve' ? 'approved' : 'rejected', decidedBy: owner, comment: chatAnswer.comment ?? null });
      } catch (error) {
        // Decided through the API meanwhile: that decision stands.
        if (!EnsembleError.is(error, ErrorCode.Conflict)) throw error;
        record = (await store.get(record.id, owner)) ?? record;
      }
    }
    if (record.status === 'pending') {
      pending.push(record);
      continue;
    }
    decisions[node.node] = toDecision(record, timeoutAction === 'approve' ? 'approved' : 'rejected');
    decided.push(record);
    if (record.status === 'expired') expired.push(node.node);
  }
  return { decisions, decided, pending, expired };
}
