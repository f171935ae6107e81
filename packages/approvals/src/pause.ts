import { APPROVAL_TIMEOUT_DETAIL, type ApprovalKind, type ApprovalRecord, type ApprovalRequest } from '@ensemble/protocol';

/** What an agent's pause says, as the fields of an approval record. */
export interface PauseDetails {
  kind: ApprovalKind;
  action: string;
  reason: string | null;
  risks: string[];
  impact: string | null;
  arguments: Record<string, unknown> | null;
  argumentsSchema: Record<string, unknown> | null;
  question: string;
  /** The deadline the agent asked for (`details.timeout_seconds`), over the configured default; null = the default. */
  timeoutSeconds: number | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/**
 * Reads an agent's pause: the status message (`question`) and, when the agent sent one, the structured
 * `approvalRequest` whose `details` may name `action`, `reason`, `risks` (a list or one string),
 * `impact`, `arguments` and their JSON Schema (`arguments_schema`, or a tool's `input_schema`), and its
 * own deadline (`timeout_seconds`).
 * `input` is true for an `input-required` pause (answered with text), false for `auth-required`.
 */
export function pauseDetails(question: string, request: ApprovalRequest | undefined, input: boolean): PauseDetails {
  const details = request?.details ?? {};
  const risks = details['risks'];
  const args = details['arguments'];
  const schema = details['arguments_schema'] ?? details['input_schema'];
  const timeout = details[APPROVAL_TIMEOUT_DETAIL];
  return {
    kind: input ? 'input' : 'approval',
    action: text(details['action']) ?? request?.summary ?? question,
    reason: text(details['reason']),
    risks: Array.isArray(risks) ? risks.filter((risk): risk is string => typeof risk === 'string') : text(risks) === null ? [] : [risks as string],
    impact: text(details['impact']),
    arguments: isObject(args) ? args : null,
    argumentsSchema: isObject(schema) ? schema : null,
    question,
    timeoutSeconds: typeof timeout === 'number' && Number.isInteger(timeout) && timeout > 0 ? timeout : null,
  };
}

/** Metadata of the `approval_required` progress event for a new record (CONTRACTS.md). */
export function approvalRequiredMetadata(record: ApprovalRecord): Record<string, unknown> {
  return {
    approval_id: record.id,
    kind: record.kind,
    action: record.action,
    reason: record.reason,
    risks: record.risks,
    impact: record.impact,
    arguments: record.arguments,
    expires_at: record.expires_at,
  };
}

/** Metadata of the `approval_decided` progress event for a decided (or expired) record (CONTRACTS.md). */
export function approvalDecidedMetadata(record: ApprovalRecord): Record<string, unknown> {
  return {
    approval_id: record.id,
    decision: record.status,
    decided_by: record.decided_by,
    comment: record.comment,
    arguments_before: record.requested_arguments,
    arguments_after: record.arguments,
  };
}
