import { type ApprovalDecisionRequest, type ApprovalRecord, EnsembleError, ErrorCode } from '@ensemble/protocol';
import { z } from 'zod';

import type { ApprovalDecisionInput } from './approval-store.js';

function invalid(message: string, param: string): EnsembleError {
  return new EnsembleError(ErrorCode.InvalidRequest, message, { details: { param } });
}

/** `arguments.a.b` for an issue at path `[a, b]` of the arguments. */
function fieldOf(path: readonly PropertyKey[]): string {
  return ['arguments', ...path.map(String)].join('.');
}

/**
 * Turns a `POST /v1/approvals/{id}` body into a decision for `record`, or a 400 naming the bad field:
 * kind `approval` takes `decision` (with `arguments` only on approve, checked against the record's
 * `arguments_schema`); kind `input` takes `answer` (or `decision: "reject"` to decline).
 */
export function decisionFromRequest(record: ApprovalRecord, body: ApprovalDecisionRequest, decidedBy: string): ApprovalDecisionInput {
  const comment = body.comment ?? null;
  if ('answer' in body) {
    if (record.kind !== 'input') throw invalid(`Approval ${record.id} asks for a decision, not an answer: send {"decision": "approve" | "reject"}`, 'answer');
    return { decision: 'approved', decidedBy, comment, answer: body.answer };
  }
  if (record.kind === 'input' && body.decision === 'approve') throw invalid(`Approval ${record.id} asks a question: send {"answer": "..."}`, 'decision');
  if (body.arguments === undefined) return { decision: body.decision === 'approve' ? 'approved' : 'rejected', decidedBy, comment };
  if (body.decision !== 'approve') throw invalid('arguments can only be given with decision "approve"', 'arguments');
  if (record.arguments_schema !== null) {
    let schema: z.ZodType;
    try {
      schema = z.fromJSONSchema(record.arguments_schema);
    } catch {
      // The agent's schema uses something we cannot check: accept the edit rather than block the decision.
      return { decision: 'approved', decidedBy, comment, arguments: body.arguments };
    }
    const parsed = schema.safeParse(body.arguments);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = fieldOf(issue?.path ?? []);
      throw invalid(`${field}: ${issue?.message ?? 'does not match the arguments schema'}`, field);
    }
  }
  return { decision: 'approved', decidedBy, comment, arguments: body.arguments };
}
