import { z } from 'zod';

/**
 * Human approval over A2A. An agent that needs a person's go-ahead puts its task in
 * `TASK_STATE_AUTH_REQUIRED` with a status message carrying a text part (what needs approval, for
 * people) and a data part `{ approvalRequest: ApprovalRequest }` (for programs). The caller answers with
 * a follow-up message on the same task whose data part is `{ approval: ApprovalAnswer }`; a plain text
 * message "approve" / "reject" is accepted too.
 */
export const ApprovalRequest = z.object({
  /** Names the approval point inside the agent, so a task can ask for several approvals in turn. */
  key: z.string().min(1),
  /** One sentence a person can decide on: what will happen if they approve. */
  summary: z.string().min(1),
  /** Structured context for the decision (affected resources, estimated cost, diff, ...). */
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/**
 * The `details` key by which an agent gives one approval its own deadline, in seconds (a tool the MCP
 * config gives `approvalTimeoutSeconds`, a skill whose actions need a faster answer); the caller's
 * default (`APPROVAL_TIMEOUT_SECONDS`) applies otherwise.
 */
export const APPROVAL_TIMEOUT_DETAIL = 'timeout_seconds';

export const ApprovalAnswer = z.object({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(4_000).optional(),
  /** The arguments to run with (as requested, or edited by the approver). */
  arguments: z.record(z.string(), z.unknown()).optional(),
});
export type ApprovalAnswer = z.infer<typeof ApprovalAnswer>;

/** The data part of an approval follow-up message. */
export const ApprovalAnswerData = z.object({ approval: ApprovalAnswer });
export type ApprovalAnswerData = z.infer<typeof ApprovalAnswerData>;

/** The data part of an `auth-required` status message. */
export const ApprovalRequestData = z.object({ approvalRequest: ApprovalRequest });
export type ApprovalRequestData = z.infer<typeof ApprovalRequestData>;
