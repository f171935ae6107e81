import { type DagEvent, EnsembleMetadataKey, type ExecutionPlan, type ReasoningEvent, type TokenCounts, type WorkflowEvent } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';

import type { EventAppender } from '../event-appender.js';

/**
 * Progress of a workflow as the client sees it. Pure mapping from engine events to `ReasoningEvent`s,
 * and the A2A metadata that carries them (keys from `@ensemble/protocol`, which the gateway reads).
 */

/** A reasoning event before the stream numbers it. */
export type ProgressEvent = Omit<ReasoningEvent, 'sequence'>;

/** Where a workflow's output goes: a client's A2A stream, or nowhere (background resume). */
export interface ProgressSink {
  progress(event: ProgressEvent): void;
  /** A piece of the final answer. */
  answer(text: string): void;
  /**
   * Tokens spent by one LLM call of the workflow: an agent call (each attempt, failed ones included),
   * a planning or re-planning call, the synthesis. Their sum is the request's `usage`.
   */
  usage(spent: TokenCounts): void;
}

export const silentSink: ProgressSink = { progress: () => undefined, answer: () => undefined, usage: () => undefined };

/** Longest node output or input quoted in an event; the full text is in the session. */
const EXCERPT_CHARS = 280;

export function excerpt(text: string, max = EXCERPT_CHARS): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  return collapsed.length <= max ? collapsed : `${collapsed.slice(0, max - 1)}…`;
}

/** The plan as shown in `plan_ready`: small enough for a UI, enough to draw the graph. */
export function planSummary(plan: ExecutionPlan): Record<string, unknown> {
  return {
    goal: plan.goal,
    rationale: plan.rationale,
    nodes: plan.nodes.map((node) => ({ id: node.id, agent: node.agent, skill: node.skill, depends_on: node.dependsOn, description: node.description })),
  };
}

export interface EventMappingContext {
  plan: ExecutionPlan;
  /** The agent that will run (or ran) a node, for events that do not name one (skill-only nodes). */
  agentOf(nodeId: string): string | undefined;
}

function withAgent(agent: string | null | undefined, context: EventMappingContext, node: string): { agent?: string } {
  const name = agent ?? context.agentOf(node);
  return name === undefined ? {} : { agent: name };
}

/**
 * The client-facing event for an engine event, or `undefined` for the ones the stream does not show
 * (`workflow_*`: the task's own final state says how the run ended).
 */
export function dagEventToProgress(event: DagEvent, context: EventMappingContext): ProgressEvent | undefined {
  switch (event.type) {
    case 'node_started': {
      const description = context.plan.nodes.find((node) => node.id === event.node)?.description ?? '';
      return {
        type: 'node_started',
        node: event.node,
        ...withAgent(event.agent, context, event.node),
        message: event.attempt > 1 ? `Attempt ${event.attempt}: ${description || event.node}` : description || `Started ${event.node}`,
        metadata: { attempt: event.attempt, input: excerpt(event.input) },
      };
    }
    case 'node_retrying':
      return {
        type: 'node_retrying',
        node: event.node,
        ...withAgent(event.agent, context, event.node),
        message: `Retrying in ${event.delayMs} ms after: ${event.error.message}`,
        metadata: { attempt: event.attempt, delay_ms: event.delayMs, error: event.error },
      };
    case 'node_fallback':
      return {
        type: 'node_retrying',
        node: event.node,
        agent: event.to,
        message: `Falling back to agent "${event.to}" after: ${event.error.message}`,
        metadata: { fallback: true, from: event.from, to: event.to, error: event.error },
      };
    case 'node_completed':
      return {
        type: 'node_completed',
        node: event.node,
        ...withAgent(event.agent, context, event.node),
        message: excerpt(event.output),
        metadata: { output_chars: event.output.length },
      };
    case 'node_failed':
      return { type: 'node_failed', node: event.node, ...withAgent(event.agent, context, event.node), message: event.error.message, metadata: { error: event.error } };
    case 'node_skipped':
      return { type: 'node_skipped', node: event.node, message: event.reason };
    case 'node_waiting_approval':
      return {
        type: 'approval_required',
        node: event.node,
        ...withAgent(event.agent, context, event.node),
        message: typeof event.context['question'] === 'string' ? event.context['question'] : 'Waiting for approval',
        metadata: event.context,
      };
    case 'node_cancelled':
      return { type: 'status', node: event.node, ...withAgent(event.agent, context, event.node), message: 'Cancelled', metadata: { state: 'canceled' } };
    case 'replanned':
      return {
        type: 'replanned',
        message: event.revision.reason,
        metadata: {
          after: event.after,
          added: event.revision.addNodes.map((node) => node.id),
          updated: event.revision.updateNodes.map((node) => node.id),
          skipped: event.revision.skipNodes,
        },
      };
    case 'revision_rejected':
      return { type: 'status', message: `Plan revision rejected (${event.reason}); continuing with the current plan`, metadata: { after: event.after, problems: event.problems } };
    case 'workflow_started':
      return event.resumed ? { type: 'status', message: 'Resuming the workflow from its saved state', metadata: { nodes: event.nodes } } : undefined;
    case 'workflow_completed':
    case 'workflow_failed':
    case 'workflow_paused':
    case 'workflow_cancelled':
      return undefined;
  }
}

/** A2A metadata carrying a reasoning event with its attribution (what the gateway's translator reads). */
export function progressMetadata(event: ReasoningEvent): Record<string, unknown> {
  return {
    [EnsembleMetadataKey.reasoningEvent]: event,
    ...(event.agent === undefined ? {} : { [EnsembleMetadataKey.agent]: event.agent }),
    ...(event.node === undefined ? {} : { [EnsembleMetadataKey.node]: event.node }),
  };
}

/** An answer record of the log, its text still growing while it waits in the appender's queue. */
type AnswerRecord = Extract<WorkflowEvent, { kind: 'answer' }>;

/** What a live client's task stream does with each event once the log has given it a position. */
export interface PositionedPublisher {
  progress(event: ReasoningEvent, position: number | undefined): void;
  answer(text: string, position: number | undefined): void;
  usage(spent: TokenCounts): void;
}

/**
 * The sink of every run, live or background: each event is appended once to the session's event log
 * (`@ensemble/workflow`), and its position is the event's only number. A live client's task stream
 * (`publisher`) gets each event after the log, in log order, carrying that position. Appends are
 * batched and never awaited by the workflow itself: only `end()` waits for them, before the turn's
 * final status. When the log cannot be written the event still reaches the live client, unnumbered,
 * and a warning says that re-attaching will miss it.
 */
export class LoggedSink implements ProgressSink {
  #tail: Promise<void> = Promise.resolve();
  #warned = false;
  #ended = false;
  /** Answer text the turn's log already holds (a run taken over mid-answer): not appended again. */
  #answered: string;
  #diverged = false;
  /** The latest answer record written: more text may join it while it is still queued. */
  #openAnswer: AnswerRecord | undefined;

  constructor(
    private readonly appender: EventAppender<WorkflowEvent>,
    private readonly logger: Logger,
    private readonly publisher?: PositionedPublisher,
    options: { alreadyAnswered?: string } = {},
  ) {
    this.#answered = options.alreadyAnswered ?? '';
  }

  progress(event: ProgressEvent): void {
    this.#write({ kind: 'progress', at: new Date().toISOString(), event }, (position) => this.publisher?.progress({ ...event, ...(position === undefined ? {} : { sequence: position }) }, position));
  }

  /**
   * A piece of the answer. While the log is busy (an append in flight), pieces that arrive join the
   * answer record still waiting for its turn: one record, one position and one published chunk for
   * what the model streamed meanwhile. A model slower than a log round trip (any real one) gets one
   * record per piece, as before; a burst costs a few records instead of hundreds, in the log, on this
   * stream and in every client's parser. Nothing waits for more text: a piece is never held back.
   */
  answer(text: string): void {
    const fresh = this.#skipAnswered(text);
    if (fresh === '') return;
    const open = this.#openAnswer;
    if (open !== undefined && this.appender.lastQueued() === open) {
      open.text += fresh;
      return;
    }
    const record: AnswerRecord = { kind: 'answer', at: new Date().toISOString(), text: fresh };
    this.#openAnswer = record;
    this.#write(record, (position) => this.publisher?.answer(record.text, position));
  }

  /**
   * A run that took a turn over mid-answer synthesises again. The client already has the answer the log
   * holds: that prefix is not sent twice. A model that writes something else this time (not at
   * temperature 0) cannot take back what the client printed: the rest follows from where they part,
   * after a status event saying so.
   */
  #skipAnswered(text: string): string {
    if (this.#answered === '') return text;
    let common = 0;
    while (common < text.length && common < this.#answered.length && text[common] === this.#answered[common]) common += 1;
    if (common === text.length) {
      this.#answered = this.#answered.slice(common);
      return '';
    }
    if (common < this.#answered.length && !this.#diverged) {
      this.#diverged = true;
      this.progress({ type: 'status', message: 'The answer was being written when the workflow moved to another orchestrator; it continues from a new draft' });
    }
    this.#answered = '';
    return text.slice(common);
  }

  usage(spent: TokenCounts): void {
    this.publisher?.usage(spent);
    this.#write({ kind: 'usage', at: new Date().toISOString(), usage: { prompt_tokens: spent.prompt_tokens, completion_tokens: spent.completion_tokens } });
  }

  /**
   * Appends the turn's ending (if any; once: a second ending is ignored) after everything before it, and
   * waits until all of it is written and published.
   */
  async end(ending: WorkflowEvent | undefined): Promise<void> {
    if (ending !== undefined && !this.#ended) {
      this.#ended = ending.kind !== 'turn' || ending.state !== 'started';
      this.#write(ending);
    }
    await this.#tail;
  }

  #write(record: WorkflowEvent, then?: (position: number | undefined) => void): void {
    const appended = this.appender.append(record).catch((error: unknown) => {
      if (!this.#warned) {
        this.#warned = true;
        this.logger.warn({ err: error, session_id: this.appender.sessionId }, 'could not append to the session’s event log; a client re-attaching will miss events');
      }
      return undefined;
    });
    this.#tail = Promise.all([this.#tail, appended]).then(([, position]) => then?.(position));
  }
}
