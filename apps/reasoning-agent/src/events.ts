import { TaskState } from '@a2a-js/sdk';
import { type AgentExecutionEvent, AgentEvent } from '@a2a-js/sdk/server';
import { agentMessage } from '@ensemble/a2a';
import type { ToolCallResult } from '@ensemble/mcp';
import { EnsembleMetadataKey } from '@ensemble/openai-a2a';
import type { ReasoningEvent } from '@ensemble/protocol';

import type { RequestedToolCall, TokenTotals } from './turn.js';

/** Longest tool result text put in a reasoning event (the model always gets the whole result). */
export const EVENT_TEXT_LIMIT = 1_000;

/** A tool call after its arguments were read: `args` when they are a JSON object, `argumentError` when not. */
export interface ParsedToolCall extends RequestedToolCall {
  args: Record<string, unknown>;
  argumentError?: string;
}

/** How one tool call ended, as the loop reports it to the model and the user. */
export interface ToolOutcome {
  call: ParsedToolCall;
  /** What the model reads as the `tool` message. */
  text: string;
  isError: boolean;
  /** `tool_error`, `timeout`, `unknown_tool`, `server_unavailable`, `protocol_error`, `invalid_arguments`, `declined`. */
  errorKind?: string;
  server?: string;
  durationMs: number;
  /** Set when the tool needed approval. */
  approval?: 'approved' | 'rejected';
}

/** Cuts text to `max` characters, saying how much was left out. */
export function truncate(text: string, max = EVENT_TEXT_LIMIT): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** Reads the model's argument text: a JSON object, or an error the model can act on. */
export function parseToolCall(call: RequestedToolCall): ParsedToolCall {
  const raw = call.arguments.trim();
  if (raw === '') return { ...call, args: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ...call, args: {}, argumentError: `The arguments for "${call.name}" are not valid JSON (${reason}); send a JSON object matching the tool's schema.` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ...call, args: {}, argumentError: `The arguments for "${call.name}" must be a JSON object matching the tool's schema, not ${Array.isArray(value) ? 'an array' : typeof value}.` };
  }
  return { ...call, args: value as Record<string, unknown> };
}

/** The outcome of a call that reached the toolbox. */
export function outcomeFromResult(call: ParsedToolCall, result: ToolCallResult): ToolOutcome {
  return {
    call,
    text: result.text === '' ? (result.isError ? `The ${call.name} tool failed without a message.` : '(the tool returned no content)') : result.text,
    isError: result.isError,
    ...(result.errorKind === undefined ? {} : { errorKind: result.errorKind }),
    ...(result.server === undefined ? {} : { server: result.server }),
    durationMs: result.durationMs,
  };
}

export function thinkingEvent(step: number, maxSteps: number, detail: string): ReasoningEvent {
  return { type: 'thinking', message: `Step ${step} of at most ${maxSteps}: ${detail}`, metadata: { reasoning_step: step, max_steps: maxSteps } };
}

export function toolCallEvent(call: ParsedToolCall, step: number, options: { server?: string; needsApproval: boolean }): ReasoningEvent {
  return {
    type: 'tool_call',
    message: `Calling ${call.name}(${truncate(call.arguments.trim() === '' ? '{}' : call.arguments, 300)})`,
    metadata: {
      reasoning_step: step,
      call_id: call.id,
      tool: call.name,
      arguments: call.argumentError === undefined ? call.args : call.arguments,
      ...(options.server === undefined ? {} : { server: options.server }),
      ...(options.needsApproval ? { requires_approval: true } : {}),
    },
  };
}

export function toolResultEvent(outcome: ToolOutcome, step: number): ReasoningEvent {
  const { call } = outcome;
  const message = outcome.isError
    ? `${call.name} failed (${outcome.errorKind ?? 'tool_error'}): ${truncate(outcome.text, 300)}`
    : `${call.name} returned: ${truncate(outcome.text, 300)}`;
  return {
    type: 'tool_result',
    message,
    metadata: {
      reasoning_step: step,
      call_id: call.id,
      tool: call.name,
      is_error: outcome.isError,
      ...(outcome.errorKind === undefined ? {} : { error_kind: outcome.errorKind }),
      ...(outcome.server === undefined ? {} : { server: outcome.server }),
      ...(outcome.approval === undefined ? {} : { approval: outcome.approval }),
      duration_ms: outcome.durationMs,
      result: truncate(outcome.text),
    },
  };
}

/**
 * A reasoning event as an A2A `working` status update. The event rides on the status *message*'s
 * metadata (`ensemble.reasoningEvent`, with `ensemble.agent` and the running `ensemble.usage`), which
 * the OpenAI translator reads as it reads event metadata, but which the SDK does not merge into the
 * stored task's metadata: a later task snapshot never replays a stale event. The message text says the
 * same for plain A2A clients.
 */
export function reasoningStatusUpdate(
  ids: { taskId: string; contextId: string },
  agent: string,
  event: ReasoningEvent,
  usage?: TokenTotals,
): AgentExecutionEvent {
  const metadata: Record<string, unknown> = {
    [EnsembleMetadataKey.reasoningEvent]: { ...event, agent },
    [EnsembleMetadataKey.agent]: agent,
    ...(usage === undefined ? {} : { [EnsembleMetadataKey.usage]: usage }),
  };
  return AgentEvent.statusUpdate({
    taskId: ids.taskId,
    contextId: ids.contextId,
    status: {
      state: TaskState.TASK_STATE_WORKING,
      message: agentMessage({ taskId: ids.taskId, contextId: ids.contextId, text: event.message ?? event.type, metadata }),
      timestamp: new Date().toISOString(),
    },
    metadata: undefined,
  });
}
