import { randomUUID } from 'node:crypto';

import { type Message, type Task, TaskState } from '@a2a-js/sdk';
import { type AgentExecutionEvent, AgentEvent, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import { APPROVAL_TIMEOUT_DETAIL, type ApprovalAnswer, type ApprovalRequest, EnsembleError, EnsembleMetadataKey, ErrorCode, type TokenCounts, type TokenTotals, sumTokenUsage } from '@ensemble/protocol';
import { type Logger, type Span, agentSpanAttributes, inSpan, recordError, withLogContext } from '@ensemble/telemetry';

import { readApprovalAnswer, readApprovalRequest } from '../approval.js';
import { agentMessage, dataPart, firstUserMessage, partsData, partsText, taskStateName, textPart } from '../parts.js';
import { ChunkCoalescer, type ChunkCoalescingOptions } from './chunk-coalescer.js';

/** Task metadata key under which answered approvals are kept (so a resumed run can replay past them). */
export const APPROVALS_METADATA_KEY = EnsembleMetadataKey.approvals;

/** What the agent is asked to do: the message that started the run, read into text and data. */
export interface AgentInput {
  /** Text parts of the message, joined by newlines. */
  text: string;
  /** JSON objects carried by its data parts. */
  data: Record<string, unknown>[];
  /** The message itself (for files, metadata, reference task ids). */
  message: Message;
  /** Earlier messages of this task (user turns and agent status messages), oldest first. */
  history: Message[];
}

export interface ArtifactOptions {
  /** Artifact to write to; default: this run's text output artifact (or a new one for data). */
  artifactId?: string;
  name?: string;
  /** Marks the final chunk of a streamed artifact. */
  lastChunk?: boolean;
}

export interface ApprovalOptions {
  /** Names this approval point; give each one a distinct key when a task asks more than once. Default `approval`. */
  key?: string;
  /** What will happen when approved, in one sentence a person can decide on. */
  summary: string;
  /** Structured context for the decision (shown to programs as the status message's data part). */
  details?: Record<string, unknown>;
  /**
   * How long a person has to decide, in seconds, when this action needs another deadline than the
   * caller's default (it travels as `details.timeout_seconds`, which the orchestrator honours).
   */
  timeoutSeconds?: number;
}

/** The helpers an agent's `run` gets; every method publishes through the SDK's event bus. */
export interface AgentContext {
  readonly taskId: string;
  readonly contextId: string;
  /** The stored task on follow-up turns (resumes after approval included); `undefined` on the first turn. */
  readonly task: Task | undefined;
  /** The message of this turn: the original request, or the follow-up (e.g. the approval answer). */
  readonly message: Message;
  /** Aborted when the task is canceled or the service shuts down past its grace period. */
  readonly signal: AbortSignal;
  /** Logger whose lines carry `task_id` and `context_id`. */
  readonly logger: Logger;
  /** Tenant of the call (`undefined` when the caller named none). */
  readonly tenant: string | undefined;
  /** Caller identity (the bearer token's principal, `anonymous` without auth). */
  readonly user: string;
  /** Progress for people watching: a `working` status update with a text (and optional data) part. */
  status(text: string, data?: Record<string, unknown>): void;
  /**
   * Streams a piece of the text answer (appended to one artifact). Pieces for this run's own text
   * artifact (no `artifactId`) are always published before any later event, so order is kept; with
   * `chunkCoalescing` set they are batched within its interval.
   */
  artifactChunk(text: string, options?: ArtifactOptions): void;
  /** Publishes a structured result as its own artifact with one data part. */
  dataArtifact(data: Record<string, unknown>, options?: ArtifactOptions): void;
  /**
   * Asks a person to approve before going on. The first time, the task goes to `auth-required` with a
   * message saying what needs approval, and this run ends there (an internal signal unwinds `run`: do
   * not catch it). When a later message on the same task answers, `run` starts again from the top with
   * the same input, and this call resolves at once with the answer. Code before it therefore runs again
   * on resume: keep it cheap and free of side effects. Answers are stored on the task, so the resume
   * works on any replica and after a restart.
   */
  requireApproval(request: ApprovalOptions): Promise<ApprovalAnswer>;
  /**
   * Ends the task as `rejected` (the agent declines to do it), with a reason; `data` (e.g.
   * `{ error: { code } }` for callers that branch on why) goes in a data part of the status message.
   */
  reject(reason: string, data?: Record<string, unknown>): never;
  /** Ends the task as `failed`, with a reason the caller will see. */
  fail(reason: string, code?: ErrorCode): never;
  /**
   * Counts tokens an LLM call of this turn spent (call it once per call, failed ones included). The
   * turn's total goes to the caller as `ensemble.usage` on the final or interrupted status update, so
   * whoever runs the agent can add it to the request's usage.
   */
  reportUsage(usage: TokenCounts): void;
  /** Escape hatch: publish a raw SDK event. */
  publish(event: AgentExecutionEvent): void;
  /**
   * Resolves once the SDK has processed every event this run has published so far: saved through the
   * service's task store (which may write progress behind, see `storeWriteBehind`) and handed to the
   * task's open streams. A step after it that may end the process (a planned exit, a risky call) no
   * longer races those events to the client. Also resolves when the run is canceled.
   */
  processed(): Promise<void>;
}

/** A run's final answer: text (appended to the text artifact), structured data (a data artifact), or both. */
export type AgentResult = string | { text?: string; data?: Record<string, unknown> } | undefined | void;

/**
 * An agent's logic. Either an async generator whose yielded strings stream as the text answer, or an
 * async function; both may return an `AgentResult`. Returning completes the task; throwing fails it.
 */
export type AgentRun = (input: AgentInput, ctx: AgentContext) => AsyncGenerator<string, AgentResult, undefined> | Promise<AgentResult>;

export interface AgentDefinition {
  run: AgentRun;
}

export interface KitExecutorOptions {
  /** Agent name for spans and logs. */
  agentName: string;
  logger: Logger;
  /** Optional batching of streamed text into fewer artifact events (off by default). */
  chunkCoalescing?: ChunkCoalescingOptions;
}

/** Thrown inside `run` to end it with a chosen state; never escapes the executor. */
class RunStop extends Error {
  constructor(
    readonly state: TaskState.TASK_STATE_FAILED | TaskState.TASK_STATE_REJECTED | 'suspended',
    message: string,
    readonly code: ErrorCode = ErrorCode.Internal,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/**
 * The SDK `AgentExecutor` behind `createAgentService`: turns an `AgentRun` into the event sequence the
 * SDK expects (task first, then status and artifact updates, then exactly one final state), keeps track
 * of running tasks for cancellation and graceful shutdown, and handles the approval round trip.
 */
export class KitExecutor implements AgentExecutor {
  private readonly running = new Map<string, TaskRun>();
  private readonly idleWaiters = new Set<() => void>();

  constructor(
    private readonly run: AgentRun,
    private readonly options: KitExecutorOptions,
  ) {}

  /** Number of runs in progress in this process. */
  get activeCount(): number {
    return this.running.size;
  }

  /** Resolves `true` once no run is in progress, or `false` when `timeoutMs` passes first. */
  waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  /**
   * The service's task store saved `taskId` (every save, in order): counts toward the `processed()` of
   * the run in progress for it, if any.
   */
  noteStored(taskId: string): void {
    this.running.get(taskId)?.noteStored();
  }

  /** Cancels every run in progress with `reason` as the status message (used at shutdown). */
  cancelAll(reason: string): string[] {
    const ids = [...this.running.keys()];
    for (const run of this.running.values()) run.cancel(reason);
    return ids;
  }

  execute = async (requestContext: RequestContext, eventBus: ExecutionEventBus): Promise<void> => {
    const run = new TaskRun(requestContext, eventBus, this.options);
    this.running.set(run.taskId, run);
    try {
      await withLogContext({ task_id: run.taskId, context_id: run.contextId }, () =>
        inSpan(
          `a2a.agent ${this.options.agentName}`,
          {
            attributes: {
              ...agentSpanAttributes({ agent: this.options.agentName, input: partsText(requestContext.userMessage.parts) }),
              'a2a.task_id': run.taskId,
              'a2a.context_id': run.contextId,
            },
          },
          (span) => run.execute(this.run, span),
        ),
      );
    } finally {
      this.running.delete(run.taskId);
      if (this.running.size === 0) for (const waiter of [...this.idleWaiters]) waiter();
    }
  };

  cancelTask = async (taskId: string, eventBus: ExecutionEventBus): Promise<void> => {
    const run = this.running.get(taskId);
    if (run !== undefined) {
      run.cancel('Canceled at the caller’s request.');
      return;
    }
    // Known to the SDK but not running here (waiting for input): it still needs its final state, or the
    // SDK's cancel call would wait for one forever.
    this.options.logger.info({ task_id: taskId }, 'cancel for a task that is not running here');
    eventBus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId: '',
        status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date().toISOString() },
        metadata: undefined,
      }),
    );
  };
}

/** One execution of `run` for one task turn. */
class TaskRun {
  readonly taskId: string;
  readonly contextId: string;
  private readonly controller = new AbortController();
  /** Set once the run's final state is published: later events from a stray `run` are dropped. */
  private closed = false;
  private textArtifactId: string | undefined;
  private textChunks = 0;
  /**
   * The latest piece yielded by `run`, held back so the last one can be marked `lastChunk` without an
   * empty closing event; earlier pieces wait in `coalescer`.
   */
  private heldChunk: string | undefined;
  private readonly coalescer: ChunkCoalescer;
  private approvals: Record<string, ApprovalAnswer> = {};
  /** Tokens this turn's LLM calls spent (`reportUsage`); `undefined` while none was reported. */
  private usage: TokenTotals | undefined;
  private readonly started = performance.now();
  /** Events this run handed to the SDK, and how many saves of its task the store has made since (`processed()`). */
  private publishedCount = 0;
  private storedCount = 0;
  private readonly storedWaiters = new Set<{ count: number; resolve: () => void }>();

  constructor(
    private readonly requestContext: RequestContext,
    private readonly bus: ExecutionEventBus,
    private readonly options: KitExecutorOptions,
  ) {
    this.taskId = requestContext.taskId;
    this.contextId = requestContext.contextId;
    this.coalescer = new ChunkCoalescer((text, last, name) => this.publishOwnText(text, last, name), options.chunkCoalescing);
  }

  cancel(reason: string): void {
    if (this.closed) return;
    this.finish(TaskState.TASK_STATE_CANCELED, reason);
    this.controller.abort(new EnsembleError(ErrorCode.Cancelled, reason));
  }

  async execute(run: AgentRun, span: Span): Promise<void> {
    const existing = this.requestContext.task;
    const message = this.requestContext.userMessage;
    const stored = existing?.metadata?.[APPROVALS_METADATA_KEY] as Record<string, ApprovalAnswer> | undefined;
    this.approvals = { ...stored };

    let input = this.inputFrom(message, existing);
    const pending = existing?.status?.state === TaskState.TASK_STATE_AUTH_REQUIRED ? readApprovalRequest(existing) : undefined;
    const answer = pending === undefined ? undefined : readApprovalAnswer(message);
    if (existing !== undefined && pending !== undefined && answer !== undefined) {
      this.approvals[pending.key] = answer;
      this.options.logger.info({ approval_key: pending.key, decision: answer.decision }, 'approval answered');
      // Resume with the request that started the task, not with the approval message.
      input = this.inputFrom(firstUserMessage(existing) ?? message, existing);
    }

    // The SDK requires a task (or message) as the first event of every execution, follow-ups included.
    // A follow-up re-announces the stored task as working, so nobody reads its old interrupted state as new.
    const now = new Date().toISOString();
    this.emit(
      AgentEvent.task(
        existing === undefined
          ? {
              id: this.taskId,
              contextId: this.contextId,
              status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: now },
              artifacts: [],
              history: [message],
              metadata: {},
            }
          : { ...existing, status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: now } },
      ),
    );
    if (pending !== undefined && answer === undefined) {
      this.askForApproval(pending, 'That was not an approval decision.');
      return;
    }
    this.emitStatus(TaskState.TASK_STATE_WORKING, undefined, this.approvalsMetadata());
    try {
      const outcome = run(input, this.context());
      let result: AgentResult;
      if (isAsyncGenerator(outcome)) {
        for (;;) {
          const step = await outcome.next();
          if (step.done === true) {
            result = step.value;
            break;
          }
          if (this.closed || this.controller.signal.aborted) {
            await outcome.return(undefined);
            break;
          }
          this.pushChunk(step.value);
        }
      } else {
        result = await outcome;
      }
      if (this.closed) return;
      if (typeof result === 'string') this.pushChunk(result);
      else if (result?.text !== undefined) this.pushChunk(result.text);
      this.flushText(true);
      if (typeof result === 'object' && result.data !== undefined) this.publishData(result.data, {});
      this.finish(TaskState.TASK_STATE_COMPLETED);
    } catch (error) {
      if (this.closed) return;
      if (error instanceof RunStop) {
        if (error.state === 'suspended') return;
        this.flushText(true);
        this.finish(error.state, error.message, error.state === TaskState.TASK_STATE_FAILED ? error.code : undefined, error.data);
        return;
      }
      recordError(span, error);
      const known = EnsembleError.is(error);
      if (!known) this.options.logger.error({ err: error }, 'agent run threw');
      this.flushText(true);
      // Unexpected errors keep their details in the log; the caller gets a message without internals.
      this.finish(
        TaskState.TASK_STATE_FAILED,
        known ? error.message : `The ${this.options.agentName} agent failed unexpectedly while working on the task.`,
        known ? error.code : ErrorCode.Internal,
      );
    }
  }

  private context(): AgentContext {
    const rc = this.requestContext;
    return {
      taskId: this.taskId,
      contextId: this.contextId,
      task: rc.task,
      message: rc.userMessage,
      signal: this.controller.signal,
      logger: this.options.logger,
      tenant: rc.context.tenant,
      user: rc.context.user?.userName || 'anonymous',
      status: (text, data) => this.emitStatus(TaskState.TASK_STATE_WORKING, agentMessage({ text, data, taskId: this.taskId, contextId: this.contextId })),
      artifactChunk: (text, options = {}) => {
        if (this.closed) return;
        if (options.artifactId !== undefined) {
          // Another artifact: published as given, after everything produced before it.
          this.flushText(false);
          this.publishOtherText(text, { ...options, artifactId: options.artifactId });
          return;
        }
        this.releaseHeld(false);
        this.coalescer.add(text, { name: options.name, last: options.lastChunk === true });
      },
      dataArtifact: (data, options) => this.publishData(data, options ?? {}),
      requireApproval: (request) => {
        const key = request.key ?? 'approval';
        const answered = this.approvals[key];
        if (answered !== undefined) return Promise.resolve(answered);
        const details = request.timeoutSeconds === undefined ? request.details : { ...request.details, [APPROVAL_TIMEOUT_DETAIL]: request.timeoutSeconds };
        this.askForApproval({ key, summary: request.summary, details });
        throw new RunStop('suspended', 'waiting for approval');
      },
      reject: (reason, data) => {
        throw new RunStop(TaskState.TASK_STATE_REJECTED, reason, ErrorCode.Internal, data);
      },
      fail: (reason, code = ErrorCode.Internal) => {
        throw new RunStop(TaskState.TASK_STATE_FAILED, reason, code);
      },
      reportUsage: (usage) => {
        this.usage = sumTokenUsage(this.usage, usage);
      },
      publish: (event) => this.emit(event),
      processed: () => this.processed(),
    };
  }

  private inputFrom(message: Message, task: Task | undefined): AgentInput {
    return { text: partsText(message.parts), data: partsData(message.parts), message, history: task?.history ?? [] };
  }

  private askForApproval(request: ApprovalRequest, preface?: string): void {
    const text = `${preface === undefined ? '' : `${preface} `}${approvalPrompt(request.summary)}`;
    const message = agentMessage({ taskId: this.taskId, contextId: this.contextId, text, data: { approvalRequest: request } });
    this.emitStatus(TaskState.TASK_STATE_AUTH_REQUIRED, message, this.endMetadata());
    this.closed = true;
    this.options.logger.info({ approval_key: request.key, duration_ms: this.elapsed() }, 'task waiting for approval');
  }

  /** Metadata of the status update that ends (or interrupts) the turn: approvals and the turn's usage. */
  private endMetadata(): Record<string, unknown> | undefined {
    const approvals = this.approvalsMetadata();
    if (this.usage === undefined) return approvals;
    return { ...approvals, [EnsembleMetadataKey.usage]: { ...this.usage } };
  }

  /** Task metadata recording the answered approvals (none: no metadata, tasks without approvals stay clean). */
  private approvalsMetadata(): Record<string, unknown> | undefined {
    return Object.keys(this.approvals).length === 0 ? undefined : { [APPROVALS_METADATA_KEY]: this.approvals };
  }

  /** A piece yielded by `run`: the previous one moves to the coalescer, this one is held back. */
  private pushChunk(text: string): void {
    if (this.closed || text === '') return;
    this.releaseHeld(false);
    this.heldChunk = text;
  }

  private releaseHeld(last: boolean): void {
    if (this.heldChunk === undefined) return;
    const text = this.heldChunk;
    this.heldChunk = undefined;
    this.coalescer.add(text, { last });
  }

  /** Publishes every piece of text produced so far (before any other event, and at the end with `last`). */
  private flushText(last: boolean): void {
    this.releaseHeld(last);
    this.coalescer.flush(last);
  }

  /** One event of this run's own text artifact: the first creates it, later ones append. */
  private publishOwnText(text: string, last: boolean, name: string | undefined): void {
    if (this.closed) return;
    const artifactId = (this.textArtifactId ??= randomUUID());
    const append = this.textChunks > 0;
    this.textChunks += 1;
    this.publishToBus(
      AgentEvent.artifactUpdate({
        taskId: this.taskId,
        contextId: this.contextId,
        artifact: { artifactId, name: name ?? 'response', description: '', parts: [textPart(text)], metadata: undefined, extensions: [] },
        append,
        lastChunk: last,
        metadata: undefined,
      }),
    );
  }

  private publishOtherText(text: string, options: ArtifactOptions & { artifactId: string }): void {
    this.emit(
      AgentEvent.artifactUpdate({
        taskId: this.taskId,
        contextId: this.contextId,
        artifact: { artifactId: options.artifactId, name: options.name ?? 'response', description: '', parts: [textPart(text)], metadata: undefined, extensions: [] },
        append: false,
        lastChunk: options.lastChunk ?? false,
        metadata: undefined,
      }),
    );
  }

  private publishData(data: Record<string, unknown>, options: ArtifactOptions): void {
    this.emit(
      AgentEvent.artifactUpdate({
        taskId: this.taskId,
        contextId: this.contextId,
        artifact: { artifactId: options.artifactId ?? randomUUID(), name: options.name ?? 'data', description: '', parts: [dataPart(data)], metadata: undefined, extensions: [] },
        append: false,
        lastChunk: true,
        metadata: undefined,
      }),
    );
  }

  private emitStatus(state: TaskState, message: Message | undefined, metadata?: Record<string, unknown>): void {
    this.emit(
      AgentEvent.statusUpdate({
        taskId: this.taskId,
        contextId: this.contextId,
        status: { state, message, timestamp: new Date().toISOString() },
        metadata,
      }),
    );
  }

  /** Publishes the final state once (after the text produced so far); the message (if any) says why. */
  private finish(state: TaskState, reason?: string, code?: ErrorCode, data?: Record<string, unknown>): void {
    if (this.closed) return;
    this.flushText(true);
    const message =
      reason === undefined
        ? undefined
        : agentMessage({
            taskId: this.taskId,
            contextId: this.contextId,
            text: reason,
            data: code === undefined ? data : { error: { code, message: reason } },
          });
    this.emitStatus(state, message, this.usage === undefined ? undefined : { [EnsembleMetadataKey.usage]: { ...this.usage } });
    this.closed = true;
    this.coalescer.dispose();
    const line = { state: taskStateName(state), duration_ms: this.elapsed(), ...(reason === undefined ? {} : { reason }) };
    if (state === TaskState.TASK_STATE_COMPLETED) this.options.logger.info(line, 'task finished');
    else this.options.logger.warn(line, 'task finished');
  }

  /** Every event but this run's own text goes through here: buffered text is published first, in order. */
  private emit(event: AgentExecutionEvent): void {
    if (this.closed) return;
    this.flushText(false);
    this.publishToBus(event);
  }

  private publishToBus(event: AgentExecutionEvent): void {
    // The SDK saves the task once per event of a run (task, status or artifact update), in order.
    this.publishedCount += 1;
    this.bus.publish(event);
  }

  /** The task store saved this task (called by the service's store, in save order). */
  noteStored(): void {
    this.storedCount += 1;
    for (const waiter of this.storedWaiters) {
      if (this.storedCount < waiter.count) continue;
      this.storedWaiters.delete(waiter);
      waiter.resolve();
    }
  }

  private processed(): Promise<void> {
    const count = this.publishedCount;
    const { signal } = this.controller;
    const saved =
      this.storedCount >= count || signal.aborted
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const onAbort = (): void => {
              this.storedWaiters.delete(waiter);
              resolve();
            };
            const waiter = {
              count,
              resolve: () => {
                signal.removeEventListener('abort', onAbort);
                resolve();
              },
            };
            this.storedWaiters.add(waiter);
            signal.addEventListener('abort', onAbort, { once: true });
          });
    // The SDK hands an event to the streams in the same turn it is saved, after the save resolves.
    return saved.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  }

  private elapsed(): number {
    return Math.round((performance.now() - this.started) * 100) / 100;
  }
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<string, AgentResult, undefined> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value && typeof (value as { next?: unknown }).next === 'function';
}

/** Builds the SDK executor for an agent: `createAgentExecutor(run)` or `createAgentExecutor({ run })`. */
export function createAgentExecutor(agent: AgentRun | AgentDefinition, options: KitExecutorOptions): KitExecutor {
  return new KitExecutor(typeof agent === 'function' ? agent : agent.run, options);
}

const APPROVAL_PROMPT_START = 'Approval needed: ';
const APPROVAL_HOW_TO_ANSWER = ' Reply "approve" or "reject" (a comment may follow), or send a data part {"approval":{"decision":"approve"|"reject","comment":"..."}}.';

/** The text of an auth-required status asking for an approval: what is asked, and how to answer it. */
export function approvalPrompt(summary: string): string {
  return `${APPROVAL_PROMPT_START}${summary}${APPROVAL_HOW_TO_ANSWER}`;
}

/**
 * What an agent's approval prompt asks, without the framing `approvalPrompt` put around it: for a
 * prompt of its own that quotes the agent's (the orchestrator's pause), which would otherwise say
 * "Approval needed" and how to answer twice. Text in any other form is returned as it is.
 */
export function approvalQuestion(prompt: string): string {
  const asked = prompt.endsWith(APPROVAL_HOW_TO_ANSWER) ? prompt.slice(0, -APPROVAL_HOW_TO_ANSWER.length) : prompt;
  return asked.replace(APPROVAL_PROMPT_START, '');
}
