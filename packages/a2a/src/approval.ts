import type { Message, Task } from '@a2a-js/sdk';
import { type ApprovalAnswer, ApprovalAnswerData, type ApprovalRequest, ApprovalRequestData } from '@ensemble/protocol';

import { partsData, partsText, userMessage } from './parts.js';

/**
 * Reads an approval answer from a follow-up message: a data part `{ approval: { decision, comment? } }`
 * wins; otherwise a text whose first word is approve(d) or reject(ed) (the rest becomes the comment).
 * Returns `undefined` when the message is not an answer, so the agent can ask again.
 */
export function readApprovalAnswer(message: Message): ApprovalAnswer | undefined {
  for (const data of partsData(message.parts)) {
    const parsed = ApprovalAnswerData.safeParse(data);
    if (parsed.success) return parsed.data.approval;
  }
  const match = /^\s*(approve|approved|reject|rejected)\b[\s.:,!-]*([\s\S]*)$/i.exec(partsText(message.parts));
  if (match === null) return undefined;
  const decision = match[1]!.toLowerCase().startsWith('approve') ? 'approve' : 'reject';
  const comment = match[2]!.trim();
  return comment === '' ? { decision } : { decision, comment };
}

/** The approval a task is waiting for (from its `auth-required` status message), if any. */
export function readApprovalRequest(task: Task): ApprovalRequest | undefined {
  for (const data of partsData(task.status?.message?.parts)) {
    const parsed = ApprovalRequestData.safeParse(data);
    if (parsed.success) return parsed.data.approvalRequest;
  }
  return undefined;
}

/** The follow-up message that answers a task waiting in `auth-required`. */
export function approvalMessage(input: { taskId: string; contextId: string; decision: ApprovalAnswer['decision']; comment?: string; arguments?: Record<string, unknown> }): Message {
  const approval: ApprovalAnswer = {
    decision: input.decision,
    ...(input.comment === undefined ? {} : { comment: input.comment }),
    // The arguments the agent runs with: possibly edited by the person who approved.
    ...(input.arguments === undefined ? {} : { arguments: input.arguments }),
  };
  return userMessage({
    taskId: input.taskId,
    contextId: input.contextId,
    text: input.comment === undefined ? input.decision : `${input.decision}: ${input.comment}`,
    data: { approval },
  });
}
