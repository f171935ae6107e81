import { randomUUID } from 'node:crypto';

import { type Message, type Part, Role, type Task, TaskState } from '@a2a-js/sdk';

/**
 * Small builders and readers over the SDK's message types, so agent and client code never spells out
 * the protobuf-shaped objects (`{ content: { $case: 'text', value } , filename: '', ... }`) by hand.
 */

/** A text part with the SDK's required fields filled in. */
export function textPart(text: string, metadata?: Record<string, unknown>): Part {
  return { content: { $case: 'text', value: text }, metadata, filename: '', mediaType: 'text/plain' };
}

/** A structured-data part (a JSON value; agents' results are objects). */
export function dataPart(value: unknown, metadata?: Record<string, unknown>): Part {
  return { content: { $case: 'data', value }, metadata, filename: '', mediaType: 'application/json' };
}

/** Text of the text parts, joined by newlines (data and file parts are skipped). */
export function partsText(parts: readonly Part[] | undefined): string {
  if (parts === undefined) return '';
  const texts: string[] = [];
  for (const part of parts) if (part.content?.$case === 'text') texts.push(part.content.value);
  return texts.join('\n');
}

/** The JSON objects carried by the data parts, in order (non-object data values are skipped). */
export function partsData(parts: readonly Part[] | undefined): Record<string, unknown>[] {
  if (parts === undefined) return [];
  const values: Record<string, unknown>[] = [];
  for (const part of parts) {
    if (part.content?.$case !== 'data') continue;
    const value: unknown = part.content.value;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) values.push(value as Record<string, unknown>);
  }
  return values;
}

export interface MessageInput {
  /** A text part (first), when given. */
  text?: string;
  /** A data part (after the text), when given. */
  data?: Record<string, unknown>;
  /** Further parts, appended as they are. */
  parts?: Part[];
  /** Continue an existing task (follow-up turns, approval answers). */
  taskId?: string;
  /** Conversation id; Ensemble uses the session id. */
  contextId?: string;
  metadata?: Record<string, unknown>;
  referenceTaskIds?: string[];
  messageId?: string;
}

function buildMessage(role: Role, input: MessageInput): Message {
  const parts: Part[] = [];
  if (input.text !== undefined) parts.push(textPart(input.text));
  if (input.data !== undefined) parts.push(dataPart(input.data));
  if (input.parts !== undefined) parts.push(...input.parts);
  return {
    messageId: input.messageId ?? randomUUID(),
    contextId: input.contextId ?? '',
    taskId: input.taskId ?? '',
    role,
    parts,
    metadata: input.metadata,
    extensions: [],
    referenceTaskIds: input.referenceTaskIds ?? [],
  };
}

export function userMessage(input: MessageInput): Message {
  return buildMessage(Role.ROLE_USER, input);
}

export function agentMessage(input: MessageInput): Message {
  return buildMessage(Role.ROLE_AGENT, input);
}

/** The message that started a task: the first user message of its history. */
export function firstUserMessage(task: Task): Message | undefined {
  return task.history.find((message) => message.role === Role.ROLE_USER);
}

/** Task states after which nothing more happens to a task. */
const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

/** States in which the task waits for the caller (more input, or an approval). */
const INTERRUPTED_STATES: ReadonlySet<TaskState> = new Set([TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED]);

export function isTerminalState(state: TaskState | undefined): boolean {
  return state !== undefined && TERMINAL_STATES.has(state);
}

export function isInterruptedState(state: TaskState | undefined): boolean {
  return state !== undefined && INTERRUPTED_STATES.has(state);
}

/** A task state by its short name (A2A's wire spelling before v1.0), as logs, errors and events say it. */
export type TaskStateName = 'unspecified' | 'submitted' | 'working' | 'completed' | 'failed' | 'canceled' | 'input-required' | 'rejected' | 'auth-required';

const STATE_NAMES: Record<TaskState, TaskStateName> = {
  [TaskState.TASK_STATE_UNSPECIFIED]: 'unspecified',
  [TaskState.TASK_STATE_SUBMITTED]: 'submitted',
  [TaskState.TASK_STATE_WORKING]: 'working',
  [TaskState.TASK_STATE_COMPLETED]: 'completed',
  [TaskState.TASK_STATE_FAILED]: 'failed',
  [TaskState.TASK_STATE_CANCELED]: 'canceled',
  [TaskState.TASK_STATE_INPUT_REQUIRED]: 'input-required',
  [TaskState.TASK_STATE_REJECTED]: 'rejected',
  [TaskState.TASK_STATE_AUTH_REQUIRED]: 'auth-required',
  [TaskState.UNRECOGNIZED]: 'unspecified',
};

/** `TASK_STATE_COMPLETED` -> `completed`; an absent or unrecognised state is `unspecified`. */
export function taskStateName(state: TaskState | undefined): TaskStateName {
  return state === undefined ? 'unspecified' : STATE_NAMES[state];
}
