import { randomUUID } from 'node:crypto';

import { type Message, Role, TaskState } from '@a2a-js/sdk';
import { EnsembleMetadataKey, type TokenTotals, type WorkflowEvent, type WorkflowTurnState, sumTokenUsage } from '@ensemble/protocol';
import { dataPart, textPart } from '@ensemble/a2a/parts';

import type { A2AEvent } from './chunks.js';


/** A record read back from a session's event log, with its position. */
export interface PositionedWorkflowEvent {
  position: number;
  event: WorkflowEvent;
}

/** The final task state a turn's ending shows an A2A client (`started` is not an ending). */
const ENDING_STATE: Record<Exclude<WorkflowTurnState, 'started'>, TaskState> = {
  completed: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  rejected: TaskState.TASK_STATE_REJECTED,
  paused: TaskState.TASK_STATE_AUTH_REQUIRED,
  cancelled: TaskState.TASK_STATE_CANCELED,
};

/** Whether the record ends a turn (the client's response ends with it). */
export function endsTurn(event: WorkflowEvent): boolean {
  return event.kind === 'turn' && event.state !== 'started';
}

/**
 * Turns a session's event-log records back into the A2A events the orchestrator streamed for them, so
 * a client that re-attaches from the log goes through the same chunk translator as a live one and gets
 * the same chunks: a progress record is a `working` status update carrying the reasoning event, an
 * answer piece an artifact update of the `answer` artifact, a turn's ending the task's final (or
 * auth-required) status with the turn's summed usage. Every event carries its log position
 * (`ensemble.position`). One instance per replayed turn: it sums the usage records it has seen.
 */
export class WorkflowReplay {
  readonly #taskId: string;
  readonly #contextId: string;
  #usage: TokenTotals | undefined;

  constructor(ids: { taskId: string; contextId: string }) {
    this.#taskId = ids.taskId;
    this.#contextId = ids.contextId;
  }

  /** The A2A event for `record`, or `undefined` for records that only feed the state (usage, turn start). */
  toA2A({ position, event }: PositionedWorkflowEvent): A2AEvent | undefined {
    const ids = { taskId: this.#taskId, contextId: this.#contextId };
    switch (event.kind) {
      case 'usage':
        this.#usage = sumTokenUsage(this.#usage, event.usage);
        return undefined;
      case 'progress': {
        const reasoning = { ...event.event, sequence: position };
        return {
          kind: 'status',
          event: {
            ...ids,
            status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: event.at },
            metadata: {
              [EnsembleMetadataKey.reasoningEvent]: reasoning,
              ...(reasoning.agent === undefined ? {} : { [EnsembleMetadataKey.agent]: reasoning.agent }),
              ...(reasoning.node === undefined ? {} : { [EnsembleMetadataKey.node]: reasoning.node }),
              [EnsembleMetadataKey.position]: position,
            },
          },
        };
      }
      case 'answer':
        return {
          kind: 'artifact',
          event: {
            ...ids,
            artifact: { artifactId: `answer-${this.#contextId}`, name: 'answer', description: '', parts: [textPart(event.text)], metadata: undefined, extensions: [] },
            append: true,
            lastChunk: false,
            metadata: { [EnsembleMetadataKey.position]: position },
          },
        };
      case 'turn': {
        if (event.state === 'started') return undefined;
        const message = event.message === undefined ? undefined : this.#message(event.message, event.state === 'completed' ? undefined : endingData(event));
        return {
          kind: 'status',
          event: {
            ...ids,
            status: { state: ENDING_STATE[event.state], message, timestamp: event.at },
            metadata: { [EnsembleMetadataKey.position]: position, ...(this.#usage === undefined ? {} : { [EnsembleMetadataKey.usage]: { ...this.#usage } }) },
          },
        };
      }
    }
  }

  #message(text: string, data: Record<string, unknown> | undefined): Message {
    return {
      messageId: randomUUID(),
      contextId: this.#contextId,
      taskId: this.#taskId,
      role: Role.ROLE_AGENT,
      parts: data === undefined ? [textPart(text)] : [textPart(text), dataPart(data)],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    };
  }
}

/** The data part of a turn's ending, as the orchestrator's final status carries it. */
function endingData(event: Extract<WorkflowEvent, { kind: 'turn' }>): Record<string, unknown> | undefined {
  if (event.state === 'paused') return event.details === undefined ? undefined : { approvalRequest: event.details };
  if (event.code === undefined) return undefined;
  return { error: { code: event.code, message: event.message ?? '', ...event.details } };
}
