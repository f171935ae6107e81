import { z } from 'zod';

/**
 * A human decision the orchestrator waits for, as a record (`GET /v1/approvals`): one per paused node.
 * `kind: "approval"` comes from an agent's `auth-required` pause (approve / reject, optionally with edited
 * `arguments`); `kind: "input"` from an `input-required` pause (answered with free text).
 */
export const ApprovalKind = z.enum(['approval', 'input']);
export type ApprovalKind = z.infer<typeof ApprovalKind>;

/** `pending` until decided once; `expired` when nobody decided before `expires_at`. */
export const ApprovalStatus = z.enum(['pending', 'approved', 'rejected', 'expired']);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

/** The public shape (CONTRACTS.md "Approvals API"). */
export const Approval = z.object({
  object: z.literal('approval'),
  id: z.string().min(1),
  session_id: z.string().min(1),
  node_id: z.string().min(1),
  agent: z.string().nullable(),
  kind: ApprovalKind,
  /** What will happen if approved, in one line ("Restart payments in production"). */
  action: z.string(),
  reason: z.string().nullable(),
  risks: z.array(z.string()),
  impact: z.string().nullable(),
  /** The arguments the agent will run with; after a decision, the ones it was told to run with. */
  arguments: z.record(z.string(), z.unknown()).nullable(),
  /** JSON Schema the (possibly edited) arguments must satisfy. */
  arguments_schema: z.record(z.string(), z.unknown()).nullable(),
  status: ApprovalStatus,
  requested_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  decided_at: z.iso.datetime().nullable(),
  decided_by: z.string().nullable(),
  comment: z.string().nullable(),
  question: z.string().nullable(),
});
export type Approval = z.infer<typeof Approval>;

/** The stored record: the public shape plus who owns it, the arguments as requested and an input's answer. */
export const ApprovalRecord = Approval.extend({
  owner: z.string().min(1),
  /** The arguments the agent asked with (before any edit), kept for the audit trail. */
  requested_arguments: z.record(z.string(), z.unknown()).nullable(),
  /** The answer to a kind `input` approval. */
  answer: z.string().nullable(),
});
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

/** `POST /v1/approvals/{id}` body: a decision, or an answer for kind `input`. */
export const ApprovalDecisionRequest = z.union([
  z.strictObject({
    decision: z.enum(['approve', 'reject']),
    arguments: z.record(z.string(), z.unknown()).optional(),
    comment: z.string().max(4_000).optional(),
  }),
  z.strictObject({ answer: z.string().min(1).max(16_000), comment: z.string().max(4_000).optional() }),
]);
export type ApprovalDecisionRequest = z.infer<typeof ApprovalDecisionRequest>;

/** `GET /v1/approvals` response. */
export const ApprovalList = z.object({
  object: z.literal('list'),
  data: z.array(Approval),
  next_cursor: z.string().nullable(),
});
export type ApprovalList = z.infer<typeof ApprovalList>;

/** The public view of a stored record (drops the owner and internal fields). */
export function toApprovalView(record: ApprovalRecord): Approval {
  const { owner: _owner, requested_arguments: _requested, answer: _answer, ...view } = record;
  return view;
}

/** What happened to an approval, as a webhook event's `type` (`APPROVAL_WEBHOOK_URLS`). */
export const ApprovalEventType = z.enum(['approval.requested', 'approval.decided', 'approval.expired']);
export type ApprovalEventType = z.infer<typeof ApprovalEventType>;

/**
 * The JSON body `POST`ed to each approval webhook URL. `id` is this event's own UUID (also in the
 * `X-Ensemble-Delivery` header; the same on every retry, so a receiver can drop duplicates); `approval`
 * is the record as `GET /v1/approvals/{id}` returns it at that moment.
 */
export const ApprovalWebhookEvent = z.object({
  id: z.string().min(1),
  type: ApprovalEventType,
  created_at: z.iso.datetime(),
  approval: Approval,
});
export type ApprovalWebhookEvent = z.infer<typeof ApprovalWebhookEvent>;

/** Headers of an approval webhook delivery (lower-case, as `Headers` and `node:http` give them). */
export const ApprovalWebhookHeader = {
  /** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with `APPROVAL_WEBHOOK_SECRET`. */
  signature: 'x-ensemble-signature',
  /** The event's `type`. */
  event: 'x-ensemble-event',
  /** The event's `id`. */
  delivery: 'x-ensemble-delivery',
} as const;
