import type { ChatCompletionRequest } from '@ensemble/protocol';

import { lastUserText } from './request.js';

/**
 * Room kept, in every A2A request of the orchestration path, for what surrounds the conversation: the
 * JSON-RPC framing, message and task ids, metadata, the planner's own request fields, a re-plan's
 * summary of results. 256 KiB: far above what they take, small next to the default 4 MiB limit.
 */
export const A2A_ENVELOPE_ALLOWANCE_BYTES = 256 * 1024;

/**
 * The largest conversation (as `orchestrationMessageBytes` measures it) the orchestration path can carry
 * when every agent accepts request bodies up to `a2aMaxBodyBytes` (`A2A_MAX_BODY_BYTES`).
 */
export function maxOrchestrationMessageBytes(a2aMaxBodyBytes: number): number {
  return Math.max(0, a2aMaxBodyBytes - A2A_ENVELOPE_ALLOWANCE_BYTES);
}

/**
 * Bytes of conversation in the largest A2A message the orchestration path builds from `request`, JSON
 * as it goes on the wire (the same string escaping as `JSON.stringify`). Two messages carry it:
 * - gateway -> orchestrator (`chatRequestToA2AMessage`): the last user turn as a text part, plus the
 *   whole request (messages as a data part, options as metadata);
 * - orchestrator -> planning agent: the request text twice (text part and `planningRequest.request`),
 *   plus the conversation's text turns, which are never longer than the messages they come from.
 * Add `A2A_ENVELOPE_ALLOWANCE_BYTES` for the rest of either request.
 */
export function orchestrationMessageBytes(request: ChatCompletionRequest): number {
  const prompt = jsonBytes(lastUserText(request.messages));
  const toOrchestrator = prompt + jsonBytes(request);
  const toPlanner = 2 * prompt + jsonBytes(request.messages);
  return Math.max(toOrchestrator, toPlanner);
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}
