import { randomUUID } from 'node:crypto';

import { type Message, type Task, TaskState } from '@a2a-js/sdk';
import { JsonRpcRequestMalformedError, JsonRpcUnsupportedOperationError } from '@a2a-js/sdk/errors';
import { AgentEvent, type ExecutionEventBus, RequestContext } from '@a2a-js/sdk/server';
import { partsData, readApprovalAnswer, textPart } from '@ensemble/a2a';
import { type AgentContext, type AgentInput, KitExecutor, approvalPrompt, approvalQuestion, clientContextId } from '@ensemble/a2a/server';
import { type ApprovalWakeup, DEFAULT_APPROVAL_TIMEOUT_ACTION, approvalDecidedMetadata, collectDecisions } from '@ensemble/approvals';
import { APPROVAL_REJECTED } from '@ensemble/dag';
import { lastUserText, readChatConversation } from '@ensemble/openai-a2a';
import {
  type ApprovalAnswer,
  type ApprovalRecord,
  type ApprovalDecision,
  EnsembleError,
  EnsembleMetadataKey,
  ErrorCode,
  type FinishedWorkflow,
  OrchestratorCommand,
  OrchestratorMetadataKey,
  OrchestratorRpcError,
  type ReasoningEvent,
  type Session,
  type TokenCounts,
  type WorkflowEvent,
} from '@ensemble/protocol';
import type { SessionLease } from '@ensemble/sessions';
import { withLogContext } from '@ensemble/telemetry';

import { EventAppender } from '../event-appender.js';
import type { EventLog } from '../event-log.js';
import { InMemoryEventLog } from '../memory-event-log.js';
import { resolveAgent } from './agents.js';
import type { CancelRelay } from './cancel-relay.js';
import { LoggedSink, type PositionedPublisher, progressMetadata } from './events.js';
import type { OrchestratorTaskStore } from './task-store.js';
import { type WaitingNode, type WorkflowDeps, type WorkflowOutcome, runWorkflow, waitingNodes } from './workflow.js';

export interface OrchestratorOptions extends WorkflowDeps {
  taskStore: OrchestratorTaskStore;
  /** Relays cancels to the orchestrator running a session; `undefined` = single process. */
  relay: CancelRelay | undefined;
  /** Name in the Agent Card, spans and logs. */
  agentName: string;
  leaseMs: number;
  /** Period of the resumable-session scan; 0 disables it. */
  resumeScanMs: number;
  maxBackgroundResumes: number;
  /**
   * Every session's event log: each workflow event is appended once, with its position, and clients
   * re-attach from it on any gateway. Default: in memory (one process, tests).
   */
  events?: EventLog<WorkflowEvent>;
  /** Lifetime of a session's log once its workflow has ended (a client may still re-attach). Default 1 hour. */
  finishedEventLogTtlMs?: number;
}

/** Most log records read to find what an interrupted turn already answered. */
const ANSWER_SCAN_LIMIT = 10_000;
/** Default of `finishedEventLogTtlMs`. */
const DEFAULT_FINISHED_LOG_TTL_MS = 3_600_000;
/** A session touched more recently than this is not resumed by the scan (it may be being created). */
const RESUME_MIN_IDLE_MS = 1_000;
/**
 * How long a decision is left to the gateway's immediate wake-up before the scan delivers it: the
 * fast path normally takes it up within milliseconds, and the scan is the backstop.
 */
const DECISION_HANDOFF_MS = 3_000;

/** What a paused session resumes with: the nodes' decisions, and those whose expiry fails the workflow. */
interface Decided {
  approvals: Record<string, ApprovalDecision>;
  expiredToFail?: string[];
}

/** What an admitted request will do; decided before the task's first event. */
type Turn =
  | { kind: 'run'; session: Session; lease: SessionLease; owner: string }
  | { kind: 'replay'; finished: FinishedWorkflow }
  | { kind: 'cancelled'; sessionId: string; how: 'cancelled' | 'relayed' };

interface LocalRun {
  controller: AbortController;
  done: Promise<unknown>;
  background: boolean;
}

/** A JSON-RPC error the gateway maps to an HTTP status (`OrchestratorRpcError`). */
class SessionRefusal extends JsonRpcUnsupportedOperationError {
  override readonly reason: string;

  constructor(code: OrchestratorRpcError, reason: string, message: string, metadata: Record<string, string>) {
    super({ message, envelopeCode: code, metadata });
    this.reason = reason;
  }
}

const HTTP_STATUS: Record<OrchestratorRpcError, string> = {
  [OrchestratorRpcError.sessionBusy]: '409',
  [OrchestratorRpcError.sessionNotFound]: '404',
  [OrchestratorRpcError.invalidSessionRequest]: '400',
  [OrchestratorRpcError.unavailable]: '503',
};

function refusal(code: OrchestratorRpcError, reason: string, message: string, sessionId: string): SessionRefusal {
  return new SessionRefusal(code, reason, message, { http_status: HTTP_STATUS[code], code: reason.toLowerCase(), session_id: sessionId });
}

/**
 * A new workflow on a `contextId` the client chose: invalid params (-32602; 400 over HTTP+JSON). The
 * spec lets a server keep a client's new contextId or refuse the request, never replace it (TCK
 * CORE-MULTI-002a). Session ids are made by the session store, which cannot take a chosen one, so the
 * orchestrator refuses; the message says how to start a workflow instead.
 */
class ContextIdRefusal extends JsonRpcRequestMalformedError {
  override readonly reason = 'CONTEXT_ID_NOT_ACCEPTED';

  constructor(contextId: string) {
    super({
      message: `Invalid params: message.contextId "${contextId}" is not a session of this orchestrator. To start a new workflow, send no contextId (the orchestrator assigns the session id and returns it as the task's contextId); to continue one, send the contextId of a session you own.`,
      metadata: { http_status: '400', code: 'context_id_not_accepted', context_id: contextId },
    });
  }
}

/** The refusal for an error met while admitting a request; `undefined` when it is not a refusal. */
function toRefusal(error: unknown, sessionId: string): SessionRefusal | ContextIdRefusal | undefined {
  if (error instanceof SessionRefusal || error instanceof ContextIdRefusal) return error;
  if (EnsembleError.is(error, ErrorCode.Conflict)) return refusal(OrchestratorRpcError.sessionBusy, 'SESSION_BUSY', `Session ${sessionId} is busy: another request is working on it`, sessionId);
  if (EnsembleError.is(error, ErrorCode.Unavailable)) return refusal(OrchestratorRpcError.unavailable, 'UNAVAILABLE', 'Session storage is unavailable; retry later', sessionId);
  if (EnsembleError.is(error, ErrorCode.InvalidRequest)) return refusal(OrchestratorRpcError.invalidSessionRequest, 'INVALID_SESSION_REQUEST', error.message, sessionId);
  return undefined;
}

function readCommand(message: Message): OrchestratorCommand | undefined {
  for (const data of partsData(message.parts)) {
    const parsed = OrchestratorCommand.safeParse(data);
    if (parsed.success) return parsed.data;
  }
  return undefined;
}

/**
 * The session owner: the end user's principal the gateway forwards, but only from a caller that
 * authenticated with one of our tokens (anyone else could claim any identity); else the caller itself.
 */
function ownerOf(context: RequestContext): string {
  const user = context.context.user;
  const caller = user?.isAuthenticated === true && user.userName !== '' ? user.userName : 'anonymous';
  const claimed: unknown = context.userMessage.metadata?.[OrchestratorMetadataKey.principal];
  return caller !== 'anonymous' && typeof claimed === 'string' && claimed !== '' ? claimed : caller;
}

/** The same request with `contextId` = the new session's id, so every event of the task carries it. */
function inSession(context: RequestContext, sessionId: string): RequestContext {
  const message = { ...context.userMessage, contextId: sessionId };
  return new RequestContext({ ...context.request, message }, context.taskId, sessionId, context.context, context.task, context.referenceTasks);
}

/**
 * A live client's view of a workflow: `working` status updates carrying the reasoning events, and the
 * answer as one streamed artifact, each with its position in the session's event log. The last answer
 * piece is held back so it can be marked final.
 */
class TaskPublisher implements PositionedPublisher {
  #first = true;
  #pending: { text: string; position: number | undefined } | undefined;

  constructor(
    private readonly ctx: AgentContext,
    private readonly session: { id: string; owner: string },
  ) {}

  progress(event: ReasoningEvent, position: number | undefined): void {
    const metadata = progressMetadata(event);
    if (position !== undefined) metadata[EnsembleMetadataKey.position] = position;
    if (this.#first) metadata[OrchestratorMetadataKey.session] = this.session;
    this.#first = false;
    this.ctx.publish(
      AgentEvent.statusUpdate({
        taskId: this.ctx.taskId,
        contextId: this.ctx.contextId,
        status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: new Date().toISOString() },
        metadata,
      }),
    );
  }

  usage(spent: TokenCounts): void {
    // The kit sums them and reports the total on the task's final (or auth-required) status update.
    this.ctx.reportUsage(spent);
  }

  answer(text: string, position: number | undefined): void {
    this.#publishPending(false);
    this.#pending = { text, position };
  }

  flush(): void {
    this.#publishPending(true);
  }

  #publishPending(last: boolean): void {
    if (this.#pending === undefined) return;
    const { text, position } = this.#pending;
    this.#pending = undefined;
    this.ctx.publish(
      AgentEvent.artifactUpdate({
        taskId: this.ctx.taskId,
        contextId: this.ctx.contextId,
        artifact: { artifactId: `answer-${this.ctx.contextId}`, name: 'answer', description: '', parts: [textPart(text)], metadata: undefined, extensions: [] },
        append: true,
        lastChunk: last,
        metadata: position === undefined ? undefined : { [EnsembleMetadataKey.position]: position },
      }),
    );
  }
}

/** The log record ending a turn with `outcome`; none for an interrupted run (another instance goes on with it). */
function endingOf(outcome: WorkflowOutcome, sessionId: string): WorkflowEvent | undefined {
  const at = new Date().toISOString();
  switch (outcome.kind) {
    case 'completed':
      return { kind: 'turn', at, state: 'completed' };
    case 'failed':
      return outcome.code === APPROVAL_REJECTED
        ? { kind: 'turn', at, state: 'rejected', message: outcome.message, code: APPROVAL_REJECTED, details: { nodes: outcome.nodes ?? [] } }
        : { kind: 'turn', at, state: 'failed', message: outcome.message, code: ErrorCode.UpstreamError };
    case 'paused':
      return pausedEnding(approvalRequestOf(sessionId, outcome.waiting));
    case 'cancelled':
      return { kind: 'turn', at, state: 'cancelled', message: `Session ${sessionId} was cancelled`, code: ErrorCode.Cancelled };
    case 'interrupted':
      return undefined;
  }
}

/** The log record of a turn that ends asking `request`: the same words the task's auth-required status says. */
function pausedEnding(request: ReturnType<typeof approvalRequestOf>): WorkflowEvent {
  return { kind: 'turn', at: new Date().toISOString(), state: 'paused', message: approvalPrompt(request.summary), details: request };
}

/** What a pause asks, as the task's auth-required status and the log's `paused` record both say it. */
function approvalRequestOf(sessionId: string, waiting: WaitingNode[]): { key: string; summary: string; details: Record<string, unknown> } {
  const summary = waiting.map((node) => `Node "${node.node}"${node.agent === null ? '' : ` (agent "${node.agent}")`} asks: ${approvalQuestion(node.question)}`).join(' ');
  return {
    // A fresh key: every pause is its own question, answered by the next message on the session.
    key: `approval-${randomUUID()}`,
    summary: summary === '' ? 'The workflow waits for an approval.' : summary,
    details: { session_id: sessionId, nodes: waiting },
  };
}

/** A session a resume scan would run in the background, with the wake-up that brought it (decisions). */
interface ResumeCandidate {
  sessionId: string;
  owner: string;
  wakeup?: ApprovalWakeup;
}

/**
 * The orchestrator: admits A2A requests onto sessions (create, continue, replay, cancel), runs their
 * workflows under the session lease, resumes orphaned sessions in the background, and relays cancels.
 */
export class Orchestrator {
  readonly executor: KitExecutor;
  readonly #options: OrchestratorOptions;
  readonly #events: EventLog<WorkflowEvent>;
  readonly #turns = new Map<string, Turn>();
  readonly #runs = new Map<string, LocalRun>();
  #scanTimer: NodeJS.Timeout | undefined;
  #scanning: Promise<number> | undefined;
  #stopping = false;

  constructor(options: OrchestratorOptions) {
    this.#options = options;
    this.#events = options.events ?? new InMemoryEventLog<WorkflowEvent>();
    const executor = new KitExecutor((input, ctx) => this.#run(input, ctx), { agentName: options.agentName, logger: options.logger });
    // Admission happens before the kit publishes the task: it decides the session (and so the task's
    // contextId) and refuses busy or unknown sessions as JSON-RPC errors. The kit's executor keeps
    // tracking runs, so graceful shutdown and `CancelTask` work as for any kit agent.
    const kitExecute = executor.execute;
    executor.execute = async (context: RequestContext, bus: ExecutionEventBus) => {
      let turn: Turn;
      try {
        turn = await this.#admit(context);
      } catch (error) {
        const refused = toRefusal(error, context.contextId);
        if (refused === undefined) throw error;
        options.logger.info({ code: refused.reason, context_id: context.contextId, task_id: context.taskId }, 'request refused');
        options.taskStore.refuse(context.taskId, refused);
        bus.publish(AgentEvent.task({ id: context.taskId, contextId: context.contextId, status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() }, artifacts: [], history: [], metadata: {} }));
        return;
      }
      this.#turns.set(context.taskId, turn);
      try {
        await kitExecute(turn.kind === 'run' ? inSession(context, turn.session.id) : context, bus);
      } finally {
        this.#turns.delete(context.taskId);
        options.taskStore.release(context.taskId);
        if (turn.kind === 'run') await turn.lease.release().catch((error: unknown) => options.logger.warn({ err: error }, 'lease release failed'));
      }
    };
    this.executor = executor;
    options.taskStore.watchCancels(
      (taskId) => this.#turns.has(taskId),
      (task) => void this.#onForeignCancel(task),
    );
  }

  /** Starts the resume scan and the cancel relay. */
  async start(): Promise<void> {
    await this.#options.relay?.start((sessionId) => this.#runs.get(sessionId)?.controller.abort(new EnsembleError(ErrorCode.Cancelled, 'Cancelled at the caller’s request')));
    if (this.#options.resumeScanMs > 0) {
      this.#scanTimer = setInterval(() => void this.scanOnce(), this.#options.resumeScanMs);
      this.#scanTimer.unref();
    }
  }

  /** Sessions running in this process right now. */
  get runningSessions(): string[] {
    return [...this.#runs.keys()];
  }

  /**
   * Stops without cancelling anyone's work: running workflows are interrupted (their sessions stay
   * `active`), leases are released so another orchestrator resumes them at once.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#scanTimer);
    await this.#scanning;
    const shutdown = new EnsembleError(ErrorCode.Unavailable, 'The orchestrator is shutting down');
    for (const run of this.#runs.values()) run.controller.abort(shutdown);
    await Promise.allSettled([...this.#runs.values()].map((run) => run.done));
    await this.#options.taskStore.flush();
    await this.#options.relay?.stop();
  }

  /**
   * One pass of the resume scan: `active` sessions whose lease expired (their orchestrator died) are
   * resumed in the background, up to `maxBackgroundResumes` at a time. Resolves with how many started.
   */
  scanOnce(): Promise<number> {
    this.#scanning ??= this.#scan().finally(() => {
      this.#scanning = undefined;
    });
    return this.#scanning;
  }

  /** Cancels a session wherever it runs. */
  async cancelSession(sessionId: string, owner: string): Promise<'cancelled' | 'relayed'> {
    const { store, logger } = this.#options;
    const local = this.#runs.get(sessionId);
    if (local !== undefined) {
      local.controller.abort(new EnsembleError(ErrorCode.Cancelled, 'Cancelled at the caller’s request'));
      await local.done;
      return 'cancelled';
    }
    let lease: SessionLease;
    try {
      lease = await store.acquireLease(sessionId, owner, { ttlMs: this.#options.leaseMs });
    } catch (error) {
      if (!EnsembleError.is(error, ErrorCode.Conflict) || this.#options.relay === undefined) throw error;
      await this.#options.relay.publish(sessionId);
      return 'relayed';
    }
    try {
      // Nobody runs it (paused for approval, or orphaned): end its agents' tasks and the session here.
      const session = await store.get(sessionId, owner);
      await Promise.allSettled(
        Object.values(session.nodes)
          .filter((result) => (result.status === 'waiting_approval' || result.status === 'running') && result.taskId !== null && result.agent !== null)
          .map(async (result) => {
            const client = await this.#options.clients.for(resolveAgent(this.#options.directory, result.agent, null));
            await client.cancelTask(result.taskId ?? '', { timeoutMs: 5_000 });
          }),
      );
      // The log's ending first: a client waiting on it (no orchestrator runs this session) is told.
      await this.#sinkFor(lease).end(endingOf({ kind: 'cancelled' }, sessionId));
      await this.#options.results.put({ sessionId, owner, status: 'cancelled', answer: null, error: null, finishedAt: new Date().toISOString() });
      await store.finish(sessionId, owner, { status: 'cancelled' });
      logger.info({ session_id: sessionId }, 'session cancelled');
      return 'cancelled';
    } finally {
      await lease.release();
    }
  }

  async #admit(context: RequestContext): Promise<Turn> {
    const { store, results, leaseMs } = this.#options;
    const message = context.userMessage;
    const owner = ownerOf(context);
    const contextId = context.contextId;
    if (this.#stopping) throw refusal(OrchestratorRpcError.unavailable, 'UNAVAILABLE', 'The orchestrator is shutting down; retry on another instance', contextId);

    if (readCommand(message)?.command === 'cancel') {
      try {
        return { kind: 'cancelled', sessionId: contextId, how: await this.cancelSession(contextId, owner) };
      } catch (error) {
        if (EnsembleError.is(error, ErrorCode.NotFound)) throw refusal(OrchestratorRpcError.sessionNotFound, 'SESSION_NOT_FOUND', error.message, contextId);
        throw error;
      }
    }

    let session: Session | undefined;
    let gone: EnsembleError | undefined;
    try {
      session = await store.get(contextId, owner);
    } catch (error) {
      if (!EnsembleError.is(error, ErrorCode.NotFound)) throw error;
      gone = error;
    }

    if (session === undefined) {
      const finished = await results.get(contextId, owner);
      if (finished !== undefined) return { kind: 'replay', finished };
      // The SDK fills an empty contextId with a fresh UUID before we see it, so "unknown" may just mean
      // "new" (`clientContextId` says whether the client sent one): a caller that says it resumes (or
      // answers a task of ours), or a finished session, is refused as not found.
      if (gone?.wireCode === 'session_finished' || message.metadata?.[OrchestratorMetadataKey.resume] === true || context.task !== undefined) {
        throw refusal(OrchestratorRpcError.sessionNotFound, 'SESSION_NOT_FOUND', gone?.message ?? `Session ${contextId} not found`, contextId);
      }
      // The client named a context we do not have (unknown, expired, or another owner's: the store
      // answers all three alike). Starting a session under another id would silently replace it.
      if (clientContextId(context) !== undefined) throw new ContextIdRefusal(contextId);
      const conversation = readChatConversation(message);
      // What the planner plans; refused here (400 at the gateway) rather than by the planner mid-workflow.
      if (lastUserText(conversation.messages).trim() === '') throw new EnsembleError(ErrorCode.InvalidRequest, 'The request has no text to work on: its last user message is empty');
      const model = typeof conversation.options['model'] === 'string' ? conversation.options['model'] : null;
      const created = await store.create({ owner, request: { messages: conversation.messages, model } });
      // Taken at once, so the resume scan never mistakes a session being set up for an orphan.
      const lease = await store.acquireLease(created.id, owner, { ttlMs: leaseMs, autoRenew: true });
      this.#options.logger.info({ session_id: created.id }, 'session created');
      return { kind: 'run', session: created, lease, owner };
    }

    if (this.#runs.has(session.id)) throw refusal(OrchestratorRpcError.sessionBusy, 'SESSION_BUSY', `Session ${session.id} is busy: another request is working on it`, session.id);
    const lease = await store.acquireLease(session.id, owner, { ttlMs: leaseMs, autoRenew: true });
    try {
      // Re-read under the lease: the previous holder may have written since.
      const current = await store.get(session.id, owner);
      this.#options.logger.info({ session_id: session.id, status: current.status }, 'session taken up by a request');
      return { kind: 'run', session: current, lease, owner };
    } catch (error) {
      await lease.release();
      throw error;
    }
  }

  /** The kit's `run` for every admitted request. */
  async #run(_input: AgentInput, ctx: AgentContext): Promise<undefined> {
    const turn = this.#turns.get(ctx.taskId);
    if (turn === undefined) throw new EnsembleError(ErrorCode.Internal, 'Request was not admitted');
    switch (turn.kind) {
      case 'cancelled':
        ctx.artifactChunk(turn.how === 'cancelled' ? `Session ${turn.sessionId} was cancelled.` : `Cancellation of session ${turn.sessionId} was sent to the orchestrator running it.`, {
          name: 'answer',
          lastChunk: true,
        });
        return undefined;
      case 'replay':
        return this.#replay(turn.finished, ctx);
      case 'run':
        return withLogContext({ session_id: turn.session.id }, () => this.#runTurn(turn, ctx));
    }
  }

  #replay(finished: FinishedWorkflow, ctx: AgentContext): undefined {
    switch (finished.status) {
      case 'completed':
        ctx.artifactChunk(finished.answer ?? '', { name: 'answer', lastChunk: true });
        return undefined;
      case 'failed':
        if (finished.error?.code === APPROVAL_REJECTED) ctx.reject(finished.error.message, { error: { code: APPROVAL_REJECTED, message: finished.error.message } });
        ctx.fail(finished.error?.message ?? 'The workflow failed', ErrorCode.UpstreamError);
        break;
      case 'cancelled':
        ctx.fail(`Session ${finished.sessionId} was cancelled`, ErrorCode.Cancelled);
    }
    return undefined;
  }

  async #runTurn(turn: Extract<Turn, { kind: 'run' }>, ctx: AgentContext): Promise<undefined> {
    const { session, lease, owner } = turn;
    const publisher = new TaskPublisher(ctx, { id: session.id, owner });
    const sink = this.#sinkFor(lease, publisher);
    // First in the turn: a client re-attaching from the turn's start sees the decisions below too.
    await sink.end({ kind: 'turn', at: new Date().toISOString(), state: 'started' });
    let decided: Decided | undefined;
    if (session.status === 'waiting_approval') {
      const waiting = waitingNodes(session.nodes);
      // A wake-up after decisions made elsewhere (the approvals API) answers the paused task only to
      // continue it: the decisions are the recorded ones, never this message's.
      const answer = ctx.message.metadata?.[OrchestratorMetadataKey.wake] === true ? undefined : readApprovalAnswer(ctx.message);
      if (this.#options.approvals !== undefined) {
        // Decisions recorded through the approvals API (or expired) resume their nodes; a chat answer
        // decides the one pending approval. Nothing decided: ask again.
        const found = await this.#decisions(owner, waiting, answer).catch((error: unknown) => {
          if (EnsembleError.is(error, ErrorCode.Conflict)) return undefined;
          throw error;
        });
        if (found === undefined) await this.#pause(ctx, sink, session.id, waiting);
        else {
          decided = found.decided;
          this.#sayDecided(sink, found.records);
        }
      } else if (answer === undefined) await this.#pause(ctx, sink, session.id, waiting);
      // Not a decision: ask again (the task goes back to auth-required and this run ends).
      else decided = { approvals: Object.fromEntries(waiting.map((node) => [node.node, { approved: answer.decision === 'approve', comment: answer.comment ?? null, decidedBy: owner }])) };
    }
    const controller = new AbortController();
    const outcome = await this.#track(session.id, controller, false, () =>
      runWorkflow(this.#options, {
        session,
        lease,
        sink,
        signal: AbortSignal.any([ctx.signal, controller.signal]),
        beforeFinish: (ending) => sink.end(endingOf(ending, session.id)),
        ...decided,
      }),
    );
    // Everything the run streamed is in the log (and published) before the task's final status.
    // A pause is logged by `#pause`, with the very question the task asks.
    if (outcome.kind !== 'paused') await this.#endTurn(sink, outcome, session.id);
    return this.#settle(outcome, ctx, publisher, sink, session.id);
  }

  /**
   * The recorded decisions on `waiting` nodes (through the approvals API, a chat `answer`, or expiry under
   * the timeout action) and their records; `undefined` when none is decided yet. Throws `conflict` when a
   * chat answer cannot tell which of several approvals it decides.
   */
  async #decisions(owner: string, waiting: WaitingNode[], answer: ApprovalAnswer | undefined): Promise<{ decided: Decided; records: ApprovalRecord[] } | undefined> {
    if (this.#options.approvals === undefined) return undefined;
    const timeoutAction = this.#options.approvalTimeoutAction ?? DEFAULT_APPROVAL_TIMEOUT_ACTION;
    const collected = await collectDecisions(this.#options.approvals, owner, waiting, answer, timeoutAction);
    if (Object.keys(collected.decisions).length === 0) return undefined;
    const expiredToFail = timeoutAction === 'fail' && collected.expired.length > 0 ? { expiredToFail: collected.expired } : {};
    return { decided: { approvals: collected.decisions, ...expiredToFail }, records: collected.decided };
  }

  /** Each decision taken up, as an `approval_decided` event in the log (who, what, the arguments before and after). */
  #sayDecided(sink: LoggedSink, records: readonly ApprovalRecord[]): void {
    for (const record of records) {
      sink.progress({ type: 'approval_decided', node: record.node_id, ...(record.agent === null ? {} : { agent: record.agent }), message: `${record.action}: ${record.status}`, metadata: approvalDecidedMetadata(record) });
    }
  }

  /**
   * Ends the turn paused, asking about `waiting`: the log's `paused` record and the task's auth-required
   * status carry one request (its key included). The kit unwinds the run from here.
   */
  async #pause(ctx: AgentContext, sink: LoggedSink, sessionId: string, waiting: WaitingNode[]): Promise<never> {
    const request = approvalRequestOf(sessionId, waiting);
    await sink.end(pausedEnding(request));
    return ctx.requireApproval(request) as Promise<never>;
  }

  /**
   * The sink of a run under `lease`: its appends carry the lease's fencing token, so once another
   * orchestrator has taken the session over (and written), this run's late events are refused.
   */
  #sinkFor(lease: SessionLease, publisher?: PositionedPublisher, alreadyAnswered?: string): LoggedSink {
    return new LoggedSink(new EventAppender(this.#events, lease.sessionId, { fence: lease.fencingToken }), this.#options.logger, publisher, { alreadyAnswered });
  }

  /** The answer text the session's open turn already logged (a run interrupted mid-answer); '' otherwise. */
  async #answeredSoFar(sessionId: string): Promise<string> {
    try {
      const { events } = await this.#events.read(sessionId, { limit: ANSWER_SCAN_LIMIT });
      let answered = '';
      let open = false;
      for (const { event } of events) {
        if (event.kind === 'turn') {
          answered = '';
          open = event.state === 'started';
        } else if (event.kind === 'answer') answered += event.text;
      }
      return open ? answered : '';
    } catch (error) {
      this.#options.logger.warn({ err: error, session_id: sessionId }, 'could not read the session’s event log; a re-attached client may see the answer again');
      return '';
    }
  }

  /** Appends how the turn ended; an ended workflow's log is kept a while for clients that re-attach. */
  async #endTurn(sink: LoggedSink, outcome: WorkflowOutcome, sessionId: string): Promise<void> {
    const ending = endingOf(outcome, sessionId);
    await sink.end(ending);
    if (outcome.kind === 'completed' || outcome.kind === 'failed' || outcome.kind === 'cancelled') {
      await this.#events.expire(sessionId, this.#options.finishedEventLogTtlMs ?? DEFAULT_FINISHED_LOG_TTL_MS).catch((error: unknown) => {
        this.#options.logger.warn({ err: error, session_id: sessionId }, 'could not shorten the ended session’s event log lifetime');
      });
    }
  }

  async #settle(outcome: WorkflowOutcome, ctx: AgentContext, publisher: TaskPublisher, sink: LoggedSink, sessionId: string): Promise<undefined> {
    switch (outcome.kind) {
      case 'completed':
        publisher.flush();
        return undefined;
      case 'failed':
        // A user's rejection ends the task REJECTED (the workflow declines to go on without the
        // approval it needed), with the code in a data part so callers can tell it from a fault.
        if (outcome.code === APPROVAL_REJECTED) ctx.reject(outcome.message, { error: { code: APPROVAL_REJECTED, message: outcome.message, nodes: outcome.nodes ?? [] } });
        ctx.fail(outcome.message, ErrorCode.UpstreamError);
        break;
      case 'paused':
        // Puts the task in auth-required saying what needs approval; ends the run (the kit unwinds it).
        await this.#pause(ctx, sink, sessionId, outcome.waiting);
        break;
      case 'cancelled':
        // Cancelled through this task (`CancelTask`): the kit has already published CANCELED.
        if (!ctx.signal.aborted) ctx.fail(`Session ${sessionId} was cancelled`, ErrorCode.Cancelled);
        break;
      case 'interrupted':
        ctx.fail(outcome.reason, ErrorCode.Unavailable);
    }
    return undefined;
  }

  /** Registers a run of `sessionId` in this process for cancels, the scan and shutdown. */
  async #track<T>(sessionId: string, controller: AbortController, background: boolean, work: () => Promise<T>): Promise<T> {
    const done = work();
    this.#runs.set(sessionId, { controller, done, background });
    try {
      return await done;
    } finally {
      this.#runs.delete(sessionId);
    }
  }

  async #scan(): Promise<number> {
    return (await this.#resumeOrphans()) + (await this.#deliverDecisions());
  }

  /** How many more sessions this process may run in the background now (none while it stops). */
  #freeBackgroundSlots(): number {
    if (this.#stopping) return 0;
    return this.#options.maxBackgroundResumes - [...this.#runs.values()].filter((run) => run.background).length;
  }

  async #resumeOrphans(): Promise<number> {
    const { store, logger } = this.#options;
    const free = this.#freeBackgroundSlots();
    if (free <= 0) return 0;
    let candidates;
    try {
      candidates = await store.listResumable({ limit: free, minIdleMs: RESUME_MIN_IDLE_MS });
    } catch (error) {
      logger.warn({ err: error }, 'resume scan failed');
      return 0;
    }
    // A lease refused: another orchestrator got there first.
    return this.#takeUpInBackground(candidates.map((record) => ({ sessionId: record.id, owner: record.owner })));
  }

  /**
   * The durable path of a decision: sessions whose approvals were decided or expired (the approval
   * store's wake-ups) and that no turn has taken them up, because the gateway's immediate wake-up was
   * lost (every orchestrator down, the gateway crashed) or it raced with another. Each is resumed here
   * in the background, on whichever orchestrator gets its lease; the wake-up is cleared once its
   * decisions are applied (or there is nothing left to apply), so it fires exactly once in effect.
   */
  async #deliverDecisions(): Promise<number> {
    const { approvals, logger } = this.#options;
    const free = this.#freeBackgroundSlots();
    if (approvals === undefined || free <= 0) return 0;
    let wakeups: ApprovalWakeup[];
    try {
      wakeups = await approvals.wakeups({ limit: free, minAgeMs: DECISION_HANDOFF_MS });
    } catch (error) {
      logger.warn({ err: error }, 'approval wake-up scan failed');
      return 0;
    }
    return this.#takeUpInBackground(
      wakeups.map((wakeup) => ({ sessionId: wakeup.sessionId, owner: wakeup.owner, wakeup })),
      // Busy: its run takes the decisions up (or the next scan does). Gone: nothing left to apply.
      async ({ wakeup }, error) => {
        if (wakeup !== undefined && !EnsembleError.is(error, ErrorCode.Conflict)) await approvals.clearWakeup(wakeup).catch(() => undefined);
      },
    );
  }

  /**
   * The resume scans' common step: each candidate session this process does not run already and can
   * lease is run in the background (`refused` hears the lease error of the others). Returns how many
   * started.
   */
  async #takeUpInBackground(
    candidates: readonly ResumeCandidate[],
    refused?: (candidate: ResumeCandidate, error: unknown) => Promise<void>,
  ): Promise<number> {
    let started = 0;
    for (const candidate of candidates) {
      if (this.#runs.has(candidate.sessionId) || this.#stopping) continue;
      let lease: SessionLease;
      try {
        lease = await this.#options.store.acquireLease(candidate.sessionId, candidate.owner, { ttlMs: this.#options.leaseMs, autoRenew: true });
      } catch (error) {
        await refused?.(candidate, error);
        continue;
      }
      started += 1;
      void this.#resumeInBackground(candidate.sessionId, candidate.owner, lease, candidate.wakeup);
    }
    return started;
  }

  /**
   * Runs a session in the background under `lease`: an orphan (its orchestrator died) from where it
   * stopped, or, for a `wakeup`, a paused session with the decisions recorded since.
   */
  async #resumeInBackground(sessionId: string, owner: string, lease: SessionLease, wakeup?: ApprovalWakeup): Promise<void> {
    const { store, logger } = this.#options;
    const controller = new AbortController();
    // No client stream: the log alone carries the resumed turn to whoever re-attaches.
    const sink = this.#sinkFor(lease, undefined, await this.#answeredSoFar(sessionId));
    try {
      const session = await store.get(sessionId, owner).catch((error: unknown) => {
        // Finished or deleted since the decision: nothing left to apply.
        if (wakeup !== undefined && EnsembleError.is(error, ErrorCode.NotFound)) return undefined;
        throw error;
      });
      let decided: Decided | undefined;
      if (wakeup !== undefined) {
        const found = session?.status === 'waiting_approval' ? await this.#decisions(owner, waitingNodes(session.nodes), undefined) : undefined;
        if (found === undefined) {
          // Taken up already (by the gateway's wake-up, a chat answer), or nothing decided any more.
          await this.#options.approvals?.clearWakeup(wakeup);
          return;
        }
        // A new turn: a client re-attaching from its start sees the decisions and the rest of the run.
        await sink.end({ kind: 'turn', at: new Date().toISOString(), state: 'started' });
        this.#sayDecided(sink, found.records);
        decided = found.decided;
        logger.info({ session_id: sessionId, nodes: Object.keys(decided.approvals) }, 'resuming a session with decided approvals');
      } else logger.info({ session_id: sessionId }, 'resuming orphaned session');
      if (session === undefined) return;
      const outcome = await withLogContext({ session_id: sessionId }, () =>
        this.#track(sessionId, controller, true, () =>
          runWorkflow(this.#options, { session, lease, sink, signal: controller.signal, beforeFinish: (ending) => sink.end(endingOf(ending, sessionId)), ...decided }),
        ),
      );
      await this.#endTurn(sink, outcome, sessionId);
      // Applied (an interrupted run saved the decisions into its nodes first, and resumes as an orphan).
      if (wakeup !== undefined && outcome.kind !== 'interrupted') await this.#options.approvals?.clearWakeup(wakeup);
      logger.info({ session_id: sessionId, outcome: outcome.kind }, 'background resume ended');
    } catch (error) {
      logger.error({ err: error, session_id: sessionId }, 'background resume failed');
    } finally {
      await lease.release().catch(() => undefined);
    }
  }

  /** `CancelTask` for one of our tasks that this process does not run: cancel the session behind it. */
  async #onForeignCancel(task: Task): Promise<void> {
    const session: unknown = task.metadata?.[OrchestratorMetadataKey.session];
    if (typeof session !== 'object' || session === null) return;
    const { id, owner } = session as { id?: unknown; owner?: unknown };
    if (typeof id !== 'string' || typeof owner !== 'string') return;
    try {
      await this.cancelSession(id, owner);
    } catch (error) {
      // Already finished or gone: nothing left to cancel.
      this.#options.logger.info({ session_id: id, err: error }, 'cancel of a task run elsewhere found no session');
    }
  }
}
