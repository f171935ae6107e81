import { TaskState } from '@a2a-js/sdk';
import { partsData, partsText, readApprovalRequest, taskStateName } from '@ensemble/a2a';
import { type A2AStreamEvent } from '@ensemble/a2a/client';
import { readReasoningEvent, readUsage } from '@ensemble/openai-a2a';
import { type ApprovalRequest, ApprovalRequestData, OrchestratorMetadataKey, type ReasoningEvent, ReplanSignal, ReplanSignalData, type TokenTotals, withoutAddresses } from '@ensemble/protocol';

/**
 * What one A2A agent call produced, read from its stream event by event. Pure (no I/O), so the rules
 * for turning an agent's events into a node's output, progress and signals are unit-tested on their own.
 */

/** Progress worth showing the client: an agent's status text or its own reasoning event. */
export interface AgentProgress {
  type: ReasoningEvent['type'];
  message: string;
  metadata?: Record<string, unknown>;
}

/** How the call ended, once a final or interrupted state was seen. */
export type AgentCallEnd =
  | { kind: 'completed' }
  | { kind: 'failed' | 'rejected' | 'canceled'; reason: string }
  /** `input` is true for `input-required` (the agent asks a question), false for `auth-required`. */
  | { kind: 'approval_required'; question: string; request: ApprovalRequest | undefined; input?: boolean };

/**
 * The re-planning signal a data part carries, if it is one. The schema is checked only where the key is
 * present: every event of every agent call passes here, and a failed zod parse (the usual case) builds
 * its issues for nothing.
 */
function replanIn(data: Record<string, unknown>): ReplanSignal | undefined {
  if (!('replan' in data)) return undefined;
  const parsed = ReplanSignalData.safeParse(data);
  return parsed.success ? parsed.data.replan : undefined;
}

/** Data parts that are control signals for the orchestrator, not results. */
function isSignal(data: Record<string, unknown>): boolean {
  return replanIn(data) !== undefined;
}

function readReplan(metadata: Readonly<Record<string, unknown>> | undefined, data: readonly Record<string, unknown>[]): ReplanSignal | undefined {
  const signal = metadata?.[OrchestratorMetadataKey.replan];
  if (signal !== undefined) {
    const fromMetadata = ReplanSignal.safeParse(signal);
    if (fromMetadata.success) return fromMetadata.data;
  }
  for (const item of data) {
    const replan = replanIn(item);
    if (replan !== undefined) return replan;
  }
  return undefined;
}

/** Collects one agent call's stream. Feed every event to `add`; read the results afterwards. */
export class AgentCallCollector {
  taskId: string | undefined;
  end: AgentCallEnd | undefined;
  replan: ReplanSignal | undefined;
  /** Tokens the agent spent on this call: its latest `ensemble.usage` (a running total for the turn). */
  usage: TokenTotals | undefined;
  /** Text per artifact, in the order the artifacts first appeared. */
  readonly #texts = new Map<string, string>();
  /** Result data per artifact (signals excluded). */
  readonly #data = new Map<string, Record<string, unknown>[]>();

  /** Records the event; returns progress to forward, if it carries any. */
  add(event: A2AStreamEvent): AgentProgress | undefined {
    this.#noteUsage(event);
    switch (event.kind) {
      case 'message':
        // A plain message answer (no task): the whole reply.
        this.#texts.set(`message:${event.message.messageId}`, event.text);
        this.end = { kind: 'completed' };
        return undefined;
      case 'task': {
        this.taskId = event.task.id;
        // A task snapshot (first event, or a re-attach) repeats artifacts in full.
        for (const artifact of event.task.artifacts) this.#setArtifact(artifact.artifactId, partsText(artifact.parts), partsData(artifact.parts), false);
        return this.#status(event.state, undefined, undefined, event.task);
      }
      case 'artifact': {
        this.taskId ??= event.taskId;
        this.replan = readReplan(event.event.metadata ?? event.artifact.metadata, event.data) ?? this.replan;
        this.#setArtifact(event.artifact.artifactId, event.text, event.data, event.append);
        return undefined;
      }
      case 'status': {
        this.taskId ??= event.taskId;
        this.replan = readReplan(event.event.metadata ?? event.message?.metadata, event.data) ?? this.replan;
        return this.#status(event.state, event, event.text, undefined);
      }
    }
  }

  #noteUsage(event: A2AStreamEvent): void {
    const sources =
      event.kind === 'message'
        ? [event.message.metadata]
        : event.kind === 'task'
          ? [event.task.metadata]
          : event.kind === 'artifact'
            ? [event.event.metadata, event.artifact.metadata]
            : [event.event.metadata, event.message?.metadata];
    for (const metadata of sources) this.usage = readUsage(metadata) ?? this.usage;
  }

  /** The node output: the text artifacts (blank line between them), then result data as JSON. */
  output(): string {
    const parts = [...this.#texts.values()].filter((text) => text.trim() !== '');
    const data = [...this.#data.values()].flat();
    if (data.length > 0) parts.push(JSON.stringify(data.length === 1 ? data[0] : data));
    return parts.join('\n\n');
  }

  /** Structured results the agent published (signals excluded). */
  data(): Record<string, unknown>[] {
    return [...this.#data.values()].flat();
  }

  #setArtifact(id: string, text: string, data: readonly Record<string, unknown>[], append: boolean): void {
    this.#texts.set(id, append ? (this.#texts.get(id) ?? '') + text : text);
    const results = data.filter((item) => !isSignal(item));
    if (results.length > 0) this.#data.set(id, append ? [...(this.#data.get(id) ?? []), ...results] : results);
  }

  #status(
    state: TaskState,
    event: Extract<A2AStreamEvent, { kind: 'status' }> | undefined,
    text: string | undefined,
    task: Extract<A2AStreamEvent, { kind: 'task' }>['task'] | undefined,
  ): AgentProgress | undefined {
    const message = text ?? '';
    switch (state) {
      case TaskState.TASK_STATE_COMPLETED:
        // Some agents answer in the final status message rather than in an artifact.
        if (message !== '' && this.#texts.size === 0) this.#texts.set('status', message);
        this.end = { kind: 'completed' };
        return undefined;
      case TaskState.TASK_STATE_FAILED:
      case TaskState.TASK_STATE_REJECTED:
      case TaskState.TASK_STATE_CANCELED: {
        const kind = state === TaskState.TASK_STATE_FAILED ? 'failed' : state === TaskState.TASK_STATE_REJECTED ? 'rejected' : 'canceled';
        // The reason goes on to the client (a node's failure, the workflow's error): an address in it (a
        // driver's `connect ECONNREFUSED 10.0.0.5:5432`) is withheld.
        this.end = { kind, reason: message === '' ? `task ${taskStateName(state)}` : withoutAddresses(message) };
        return undefined;
      }
      case TaskState.TASK_STATE_AUTH_REQUIRED:
      case TaskState.TASK_STATE_INPUT_REQUIRED: {
        const request = event === undefined ? (task === undefined ? undefined : readApprovalRequest(task)) : approvalRequestOf(event.data);
        this.end = { kind: 'approval_required', question: message === '' ? (request?.summary ?? 'The agent needs a decision to continue.') : message, request, input: state === TaskState.TASK_STATE_INPUT_REQUIRED };
        return undefined;
      }
      default: {
        if (event === undefined) return undefined;
        const explicit = readReasoningEvent(event.event.metadata) ?? readReasoningEvent(event.message?.metadata);
        if (explicit !== undefined) return { type: explicit.type, message: explicit.message ?? message, ...(explicit.metadata === undefined ? {} : { metadata: explicit.metadata }) };
        return message === '' ? undefined : { type: 'status', message };
      }
    }
  }
}

function approvalRequestOf(data: readonly Record<string, unknown>[]): ApprovalRequest | undefined {
  for (const item of data) {
    const parsed = ApprovalRequestData.safeParse(item);
    if (parsed.success) return parsed.data.approvalRequest;
  }
  return undefined;
}
