import { randomUUID } from 'node:crypto';

import { partsText } from '@ensemble/a2a';
import { type A2AClient, type A2AStreamEvent, createA2AClient, isA2AClientError } from '@ensemble/a2a/client';
import {
  type A2AEvent,
  type ChunkTranslator,
  type ChunkTranslatorOptions,
  type ReasoningTextField,
  aggregateCompletion,
  chatRequestToA2AMessage,
  WorkflowReplay,
  createChunkTranslator,
  endsTurn,
  readPosition,
} from '@ensemble/openai-a2a';
import { EnsembleError, ErrorCode, ORCHESTRATOR_SERVICE, type OpenAIErrorBody, OrchestratorMetadataKey, SESSION_ID_HEADER, type SessionCancelResult, toOpenAIErrorBody, type WorkflowEvent } from '@ensemble/protocol';
import { SSE_HEADERS, sseFrame } from '@ensemble/service';
import { type Logger, currentLogContext, trace, withLogContext } from '@ensemble/telemetry';
import type { EventLog, LoggedEvent } from '@ensemble/workflow';

import type { OrchestrationHandler, OrchestrationRequest } from './orchestration.js';
import { isSessionBusy, orchestratorFailure } from './orchestrator-errors.js';
import type { SessionTaskIndex } from './session-tasks.js';

export interface A2AOrchestrationOptions {
  /**
   * The orchestrators' base URLs: fixed, or read per request (the replicas announced in the registry,
   * see `watchReplicas`); each one's Agent Card says where its endpoints are. Any replica can run any
   * session (all state is in Redis): new requests go to them in turn, and a replica that cannot be
   * reached is skipped for the next one.
   */
  url: string | readonly string[] | (() => readonly string[]);
  /** Bearer token the orchestrator accepts (one of its `AGENT_AUTH_TOKENS`): it then trusts our principal. */
  token: string | undefined;
  /** Longest quiet gap in the orchestrator's stream, and the wait for its first event. */
  timeoutMs: number;
  /** Delta field that also carries each progress event as a line of text (`none`: only `reasoning_event`). */
  reasoningField?: ReasoningTextField;
  /** Budget of a session cancel (the orchestrator waits for the agents' tasks to stop). */
  cancelTimeoutMs?: number;
  logger: Logger;
  sessionTasks: SessionTaskIndex;
  /**
   * The sessions' event logs (the orchestrators write them): a client re-attaches by reading it, on any
   * gateway, while any orchestrator runs the workflow. Without it, re-attaching goes through the
   * orchestrator task (only on the process that runs it).
   */
  events?: EventLog<WorkflowEvent>;
  fetch?: typeof fetch;
}

/** A conversation turn with the orchestrator whose first event (and so the session id) is known. */
interface OpenTurn {
  sessionId: string;
  taskId: string | undefined;
  /** Events already read: the first one; on a re-attach also the first live one. */
  head: A2AEvent[];
  rest: AsyncGenerator<A2AEvent, void, undefined>;
  reattached: boolean;
  /** Marks this request as the session's reader while it reads (see `SessionTaskIndex.attach`). */
  hold: ReaderHold;
}

/** How long a reader mark lasts without renewal: what a crashed gateway blocks re-attaching for. */
const READER_TTL_MS = 6_000;

/** This request's mark as the client reading a session's stream, renewed until released. */
class ReaderHold {
  readonly #reader = randomUUID();
  #timer: NodeJS.Timeout | undefined;
  #released = false;

  constructor(
    private readonly index: SessionTaskIndex,
    private readonly sessionId: string,
    private readonly logger: Logger,
  ) {}

  /** `exclusive`: only if no other client reads the session (a re-attach). */
  async acquire(exclusive: boolean): Promise<boolean> {
    let held: boolean;
    try {
      held = await this.index.attach(this.sessionId, this.#reader, { ttlMs: READER_TTL_MS, exclusive });
    } catch (error) {
      // Without the mark a re-attach could double up with a live reader, so it is refused; the request
      // the orchestrator admitted goes on regardless.
      this.logger.warn({ err: error, session_id: this.sessionId }, 'could not mark the session’s reader');
      return !exclusive;
    }
    if (held) {
      this.#timer = setInterval(() => {
        this.index.attach(this.sessionId, this.#reader, { ttlMs: READER_TTL_MS, exclusive: false }).catch((error: unknown) => {
          this.logger.warn({ err: error, session_id: this.sessionId }, 'could not renew the session’s reader mark');
        });
      }, READER_TTL_MS / 3);
      this.#timer.unref();
    }
    return held;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    this.index.detach(this.sessionId, this.#reader).catch((error: unknown) => {
      this.logger.warn({ err: error, session_id: this.sessionId }, 'could not clear the session’s reader mark');
    });
  }
}

const encoder = new TextEncoder();
/** Events with no `ensemble.agent` are the orchestrator's own. */

/**
 * The complex path: the conversation goes to the orchestrator over A2A (`SendStreamingMessage`, context
 * id = the session id when the client continues one), and its stream comes back as OpenAI chunks
 * (`delta.content` for the answer, `delta.reasoning_event` plus a line of `delta.reasoning_content` for
 * progress) or one aggregated `chat.completion`. `usage` is the whole request's: the routing
 * classifier's call (when it ran for this request) plus every LLM call of the workflow, as the
 * orchestrator reports it.
 *
 * Sessions outlive connections. A client that disconnects only stops the gateway reading: the
 * orchestrator task is never cancelled, so the workflow runs on. Re-sending with `X-Session-ID` then
 * re-attaches to the live task (through the task id recorded in `sessionTasks`), or gets the finished
 * workflow's answer replayed by the orchestrator. Explicit cancellation is `cancelSession`.
 */
export class A2AOrchestration implements OrchestrationHandler {
  readonly #options: A2AOrchestrationOptions;
  readonly #urls: () => readonly string[];
  readonly #clients = new Map<string, Promise<A2AClient>>();
  #turn = 0;

  constructor(options: A2AOrchestrationOptions) {
    this.#options = options;
    const { url } = options;
    if (typeof url === 'function') this.#urls = url;
    else {
      const fixed = typeof url === 'string' ? [url] : url;
      if (fixed.length === 0) throw new EnsembleError(ErrorCode.InvalidRequest, 'At least one orchestrator URL is needed');
      this.#urls = () => fixed;
    }
  }

  async handle(input: OrchestrationRequest): Promise<Response> {
    const reader = new AbortController();
    const onClientGone = () => reader.abort(input.signal.reason);
    input.signal.addEventListener('abort', onClientGone, { once: true });
    const release = () => input.signal.removeEventListener('abort', onClientGone);

    let turn: OpenTurn;
    try {
      // A client that says what it saw resumes right after it, from the log, wherever the workflow runs.
      const resumed = input.lastEventId === undefined || input.sessionId === undefined ? undefined : await this.#fromLog(input.sessionId, input.principal, input.lastEventId, reader, false);
      turn = resumed ?? (await this.#open(input, reader));
    } catch (error) {
      release();
      throw orchestratorFailure(error, input.sessionId);
    }
    const { logger } = this.#options;
    trace.getActiveSpan()?.setAttributes({
      'session.id': turn.sessionId,
      'ensemble.orchestrator.task_id': turn.taskId ?? '',
      'ensemble.orchestration.reattached': turn.reattached,
    });
    if (!turn.reattached) {
      await turn.hold.acquire(false);
      // A hint for re-attaching later; failing to store it must not fail the request.
      if (turn.taskId !== undefined) {
        await this.#options.sessionTasks.remember(turn.sessionId, input.principal, turn.taskId).catch((error: unknown) => {
          logger.warn({ err: error, session_id: turn.sessionId }, 'could not record the session’s task for re-attaching');
        });
      }
    }
    withLogContext({ session_id: turn.sessionId }, () =>
      logger.info({ task_id: turn.taskId, reattached: turn.reattached, stream: input.request.stream === true }, 'orchestration started'),
    );

    const translation: ChunkTranslatorOptions = {
      id: `chatcmpl-${randomUUID()}`,
      model: input.request.model,
      created: Math.floor(Date.now() / 1000),
      agent: ORCHESTRATOR_SERVICE,
      ...(this.#options.reasoningField === undefined ? {} : { reasoningField: this.#options.reasoningField }),
      ...(input.decision.usage === undefined ? {} : { priorUsage: input.decision.usage }),
    };
    const headers = { [SESSION_ID_HEADER]: turn.sessionId };
    if (input.request.stream === true) {
      const translator = createChunkTranslator({ ...translation, includeUsage: input.request.stream_options?.include_usage === true });
      const body = this.#sse(turn, translator, reader, release);
      return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
    }
    try {
      return await this.#aggregate(turn, translation, reader, headers);
    } finally {
      release();
      turn.hold.release();
    }
  }

  /**
   * Wakes a paused session after a decision was recorded through the approvals API: a message on its
   * context, read only until the run started (the workflow goes on without a reader; a client that
   * re-attaches sees the rest). A busy session (a run still going: another node's decision) is tried
   * again with backoff for up to `budgetMs`, so a decision made mid-run is picked up when it pauses.
   * Runs in the background and never throws.
   */
  resumeSession(sessionId: string, principal: string, budgetMs = 10 * 60_000): void {
    const deadline = Date.now() + budgetMs;
    const metadata = { [OrchestratorMetadataKey.principal]: principal, [OrchestratorMetadataKey.resume]: true, [OrchestratorMetadataKey.wake]: true };
    const attempt = async (tries: number, pausedTask: string | undefined): Promise<void> => {
      const urls = this.#urls();
      const client = await this.#connect(urls[tries % urls.length]);
      // The paused turn's own task goes on when it can (its push subscribers hear how the workflow
      // ends); the answer part only wakes it, the decisions are the recorded ones.
      const message =
        pausedTask === undefined
          ? { text: RESUME_TEXT, contextId: sessionId, metadata }
          : { text: RESUME_TEXT, taskId: pausedTask, contextId: sessionId, data: { approval: { decision: 'approve', comment: RESUME_TEXT } }, metadata };
      const stream = client.stream(message, { timeoutMs: this.#options.timeoutMs });
      try {
        await stream.next();
        this.#options.logger.info({ session_id: sessionId, tries, task_id: pausedTask }, 'session resumed after an approval decision');
      } catch (error) {
        // The task is not paused any more (a later turn, finished): a new task on the session.
        if (pausedTask !== undefined && !isSessionBusy(error)) return attempt(tries, undefined);
        if (!isSessionBusy(error) || Date.now() + 1_000 > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** tries)));
        return attempt(tries + 1, pausedTask);
      } finally {
        await stream.return().catch(() => undefined);
      }
    };
    this.#options.sessionTasks
      .lookup(sessionId, principal)
      .catch(() => undefined)
      .then((pausedTask) => attempt(1, pausedTask))
      .catch((error: unknown) => this.#options.logger.warn({ err: error, session_id: sessionId }, 'could not resume the session after an approval decision; its next message will'));
  }

  /**
   * Cancels a session wherever it runs: a `{ command: 'cancel' }` message on its context. The
   * orchestrator aborts the running nodes, cancels their agents' tasks and deletes the session.
   */
  async cancelSession(sessionId: string, principal: string): Promise<SessionCancelResult> {
    let reply;
    try {
      reply = await this.#onAnyOrchestrator((client) =>
        client.send(
          { data: { command: 'cancel' }, contextId: sessionId, metadata: { [OrchestratorMetadataKey.principal]: principal } },
          { timeoutMs: this.#options.cancelTimeoutMs ?? 30_000 },
        ),
      );
    } catch (error) {
      throw orchestratorFailure(error, sessionId);
    }
    const text = 'messageId' in reply ? partsText(reply.parts) : reply.artifacts.map((artifact) => partsText(artifact.parts)).join('');
    this.#options.logger.info({ session_id: sessionId }, 'session cancelled at the client’s request');
    return { object: 'session.cancelled', id: sessionId, cancelled: true, message: text === '' ? `Session ${sessionId} was cancelled.` : text };
  }

  /**
   * Runs `call` against one orchestrator, starting with the next in turn; one that cannot have seen the
   * call (connection refused, draining, breaker open: `notDelivered`) is skipped for the next. Any other
   * failure is the call's answer: it may have reached a replica, so it is not repeated elsewhere.
   */
  async #onAnyOrchestrator<T>(call: (client: A2AClient) => Promise<T>): Promise<T> {
    const urls = this.#urls();
    if (urls.length === 0) throw new EnsembleError(ErrorCode.UpstreamUnavailable, 'No orchestrator is available', { wireCode: 'orchestrator_unavailable' });
    const start = this.#turn++ % urls.length;
    const order = [...urls.slice(start), ...urls.slice(0, start)];
    for (const [index, url] of order.entries()) {
      try {
        return await call(await this.#connect(url));
      } catch (error) {
        if (index === order.length - 1 || !isA2AClientError(error) || !error.notDelivered) throw error;
        this.#options.logger.warn({ err: error, orchestrator: index }, 'orchestrator replica not reachable; trying the next one');
      }
    }
    throw new EnsembleError(ErrorCode.Internal, 'no orchestrator was tried');
  }

  /** One client per orchestrator for the process; a failed card fetch is retried on the next request. */
  #connect(url: string = this.#urls()[0] ?? ''): Promise<A2AClient> {
    const known = this.#clients.get(url);
    if (known !== undefined) return known;
    const client = createA2AClient({
      url,
      name: ORCHESTRATOR_SERVICE,
      token: this.#options.token,
      timeoutMs: this.#options.timeoutMs,
      // Only what cannot have reached the orchestrator is repeated (see `retryableBeforeTask`).
      retry: { maxAttempts: 2, initialDelayMs: 100 },
      logger: this.#options.logger,
      ...(this.#options.fetch === undefined ? {} : { fetch: this.#options.fetch }),
    }).catch((error: unknown) => {
      this.#clients.delete(url);
      throw error;
    });
    this.#clients.set(url, client);
    return client;
  }

  /** Sends the conversation and reads the first event; a busy session the client continues is re-attached to. */
  #open(input: OrchestrationRequest, reader: AbortController): Promise<OpenTurn> {
    return this.#onAnyOrchestrator((client) => this.#openOn(client, input, reader));
  }

  async #openOn(client: A2AClient, input: OrchestrationRequest, reader: AbortController): Promise<OpenTurn> {
    const metadata: Record<string, unknown> = { [OrchestratorMetadataKey.principal]: input.principal };
    // Continuing a session: an unknown id must be a 404, not silently a new session.
    if (input.sessionId !== undefined) metadata[OrchestratorMetadataKey.resume] = true;
    const message = chatRequestToA2AMessage(input.request, { ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }), metadata });
    const stream = client.stream(message, { signal: reader.signal, timeoutMs: this.#options.timeoutMs });
    try {
      const first = await stream.next();
      if (first.done === true) throw new EnsembleError(ErrorCode.UpstreamError, 'The orchestrator closed the stream without starting a task', { wireCode: 'orchestrator_error' });
      const ids = identify(first.value, input.sessionId);
      return { ...ids, head: [first.value], rest: stream, reattached: false, hold: new ReaderHold(this.#options.sessionTasks, ids.sessionId, this.#options.logger) };
    } catch (error) {
      await stream.return().catch(() => undefined);
      if (input.sessionId !== undefined && isSessionBusy(error)) {
        const attached = (await this.#fromLog(input.sessionId, input.principal, undefined, reader, true)) ?? (await this.#reattach(client, input.sessionId, input.principal, reader));
        if (attached !== undefined) return attached;
      }
      throw error;
    }
  }

  /**
   * Joins a session's current turn through its event log: every event of the turn after `after` (all of
   * them without it), then each new one as the orchestrator running it appends it, until the turn ends.
   * Works on any gateway while any orchestrator runs the workflow (or none yet: after a crash the client
   * waits here for the one that takes over). `undefined` when the caller has no turn of this session to
   * join: not theirs (the task index is scoped by owner), no log, or (with `exclusive`) another client
   * reading it. The turn's usage is summed from its start, whatever `after` is.
   */
  async #fromLog(sessionId: string, principal: string, after: number | undefined, reader: AbortController, exclusive: boolean): Promise<OpenTurn | undefined> {
    const { events, logger, timeoutMs } = this.#options;
    if (events === undefined) return undefined;
    const taskId = await this.#options.sessionTasks.lookup(sessionId, principal).catch((error: unknown) => {
      logger.warn({ err: error, session_id: sessionId }, 'could not look up the session’s task');
      return undefined;
    });
    if (taskId === undefined) return undefined;
    let records: LoggedEvent<WorkflowEvent>[];
    try {
      records = (await events.read(sessionId, { limit: LOG_SCAN_LIMIT })).events;
    } catch (error) {
      logger.warn({ err: error, session_id: sessionId }, 'could not read the session’s event log');
      return undefined;
    }
    const start = turnStart(records, after);
    if (start === undefined) return undefined;
    const hold = new ReaderHold(this.#options.sessionTasks, sessionId, logger);
    if (!(await hold.acquire(exclusive))) return undefined;
    logger.info({ session_id: sessionId, after: after ?? null, from: records[start]?.position }, 're-attached to the workflow through its event log');
    const replay = new WorkflowReplay({ taskId, contextId: sessionId });
    const seen = after ?? 0;
    const signal = reader.signal;
    async function* turnEvents(): AsyncGenerator<A2AEvent, void, undefined> {
      let batch = records.slice(start);
      let cursor = 0;
      for (;;) {
        for (const record of batch) {
          cursor = record.position;
          const event = replay.toA2A(record);
          // The ending is sent even when the client saw it: its response must end the same way.
          if (endsTurn(record.event)) {
            if (event !== undefined) yield event;
            return;
          }
          if (event !== undefined && record.position > seen) yield event;
        }
        if (events === undefined) return;
        const read = await events.read(sessionId, { after: cursor, waitMs: timeoutMs, signal });
        if (read.events.length === 0) {
          if (signal.aborted) return;
          throw new EnsembleError(ErrorCode.UpstreamTimeout, `No workflow event for ${timeoutMs} ms`);
        }
        batch = read.events;
      }
    }
    return { sessionId, taskId, head: [], rest: turnEvents(), reattached: true, hold };
  }

  /**
   * Joins the live stream of the task working on a busy session (one whose client went away). Only
   * possible on the orchestrator process running that task: elsewhere (a resumed session) the
   * subscription ends after the stored snapshot, and the caller keeps its 409.
   */
  async #reattach(client: A2AClient, sessionId: string, principal: string, reader: AbortController): Promise<OpenTurn | undefined> {
    const { logger } = this.#options;
    const taskId = await this.#options.sessionTasks.lookup(sessionId, principal).catch((error: unknown) => {
      logger.warn({ err: error, session_id: sessionId }, 'could not look up the session’s task');
      return undefined;
    });
    if (taskId === undefined) return undefined;
    // Another client reading the session right now: this is a concurrent request, not a re-attach.
    const hold = new ReaderHold(this.#options.sessionTasks, sessionId, logger);
    if (!(await hold.acquire(true))) return undefined;
    const stream = client.subscribe(taskId, { signal: reader.signal, timeoutMs: this.#options.timeoutMs });
    let attached = false;
    try {
      const snapshot = await stream.next();
      if (snapshot.done === true) return undefined;
      const head = [snapshot.value];
      if (!snapshot.value.final) {
        // The snapshot comes from storage; only a live event proves the task still streams here.
        const live = await stream.next();
        if (live.done === true) return undefined;
        head.push(live.value);
      }
      logger.info({ session_id: sessionId, task_id: taskId }, 're-attached to the running workflow');
      attached = true;
      return { sessionId, taskId, head, rest: stream, reattached: true, hold };
    } catch (error) {
      logger.info({ err: error, session_id: sessionId, task_id: taskId }, 'could not re-attach to the session’s task');
      return undefined;
    } finally {
      if (!attached) {
        hold.release();
        await stream.return().catch(() => undefined);
      }
    }
  }

  /**
   * The SSE body. Pull-driven: the orchestrator's stream is read only as fast as the client takes
   * chunks. It ends with `data: [DONE]`, or with an `error` event (which OpenAI SDKs raise) when the
   * workflow failed or the link to the orchestrator broke. A client that goes away only stops the
   * reading: the workflow goes on.
   */
  #sse(turn: OpenTurn, translator: ChunkTranslator, reader: AbortController, release: () => void): ReadableStream<Uint8Array> {
    const { logger } = this.#options;
    const logContext = { ...currentLogContext(), session_id: turn.sessionId };
    const head = [...turn.head];
    let done = false;
    const end = (outcome: string, extra: Record<string, unknown> = {}) => {
      done = true;
      release();
      turn.hold.release();
      withLogContext(logContext, () => logger.info({ outcome, task_id: turn.taskId, state: translator.result.state, ...extra }, 'orchestration stream ended'));
      // Stop reading; closing our side of the A2A stream never cancels the orchestrator's task.
      turn.rest.return().catch(() => undefined);
    };

    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          let frames = '';
          try {
            const event = head.shift() ?? (await turn.rest.next()).value;
            if (event === undefined) {
              if (translator.finished) {
                frames += tail(translator);
                end(translator.result.error === undefined ? 'completed' : 'failed');
              } else {
                frames += errorFrame(disconnected(turn.sessionId, undefined));
                end('orchestrator_disconnected');
              }
            } else {
              const id = positionOf(event);
              for (const chunk of translator.translate(event)) frames += sseFrame({ ...(id === undefined ? {} : { id }), data: chunk });
              if (translator.finished) {
                frames += tail(translator);
                end(translator.result.error === undefined ? 'completed' : 'failed');
              }
            }
          } catch (error) {
            if (done) return;
            if (reader.signal.aborted) {
              end('client_disconnected');
            } else {
              frames += errorFrame(disconnected(turn.sessionId, error));
              end('orchestrator_disconnected', { err: error });
            }
          }
          if (frames !== '') controller.enqueue(encoder.encode(frames));
          if (done) controller.close();
        },
        cancel: () => {
          if (done) return;
          reader.abort(new EnsembleError(ErrorCode.Cancelled, 'client disconnected'));
          end('client_disconnected', { note: 'the workflow continues in the orchestrator; resume with X-Session-ID' });
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Non-streaming: the whole turn folded into one `chat.completion` (or the error it ended with). */
  async #aggregate(turn: OpenTurn, options: ChunkTranslatorOptions, reader: AbortController, headers: Record<string, string>): Promise<Response> {
    const events = [...turn.head];
    try {
      for await (const event of turn.rest) events.push(event);
    } catch (error) {
      if (reader.signal.aborted) {
        this.#options.logger.info({ session_id: turn.sessionId }, 'client disconnected; the workflow continues in the orchestrator');
        return json(toOpenAIErrorBody(new EnsembleError(ErrorCode.Cancelled, 'The client closed the request.', { wireCode: 'client_closed_request' })), 499, headers);
      }
      const failure = disconnected(turn.sessionId, error);
      this.#options.logger.warn({ err: error, session_id: turn.sessionId }, 'orchestrator stream broke');
      return json(toOpenAIErrorBody(failure), failure.status, headers);
    }
    const { completion, error } = aggregateCompletion(events, options);
    if (error === undefined) return json(completion, 200, headers);
    const failure = error.wireCode === 'stream_incomplete' ? disconnected(turn.sessionId, error) : error;
    this.#options.logger.info({ session_id: turn.sessionId, code: failure.wireCode ?? failure.code }, 'workflow did not complete');
    return json(toOpenAIErrorBody(failure), failure.status, headers);
  }
}

/** The text of the message that wakes a session whose approvals were decided elsewhere. */
const RESUME_TEXT = 'resume: an approval was decided';

/** Most records read to find the start of a session's current turn. */
const LOG_SCAN_LIMIT = 10_000;

/**
 * Index (in `records`) of the start of the turn a client re-attaches to: the last turn that started
 * at or before `after` (the turn the client was reading), or the latest one without `after`.
 */
function turnStart(records: readonly LoggedEvent<WorkflowEvent>[], after: number | undefined): number | undefined {
  let found: number | undefined;
  records.forEach((record, index) => {
    if (record.event.kind !== 'turn' || record.event.state !== 'started') return;
    if (after === undefined || record.position <= after || found === undefined) found = index;
  });
  return found;
}

/** The event's position in the session's log (the orchestrator puts it on status and artifact updates). */
function positionOf(event: A2AEvent): number | undefined {
  if (!('kind' in event) || (event.kind !== 'status' && event.kind !== 'artifact')) return undefined;
  return readPosition(event.event.metadata);
}

/** The session and task a stream belongs to, from its first event. */
function identify(event: A2AStreamEvent, requested: string | undefined): { sessionId: string; taskId: string | undefined } {
  switch (event.kind) {
    case 'task':
      return { sessionId: event.task.contextId || (requested ?? ''), taskId: event.task.id };
    case 'message':
      return { sessionId: event.message.contextId || (requested ?? ''), taskId: event.message.taskId || undefined };
    case 'status':
    case 'artifact':
      return { sessionId: event.contextId || (requested ?? ''), taskId: event.taskId };
  }
}

/** The end of a finished turn: the usage chunk (when asked for), then `[DONE]` unless it failed. */
function tail(translator: ChunkTranslator): string {
  let frames = '';
  for (const chunk of translator.finish()) frames += sseFrame({ data: chunk });
  if (translator.result.error === undefined) frames += 'data: [DONE]\n\n';
  return frames;
}

/** The link to the orchestrator broke mid-turn; the workflow itself is durable and can be resumed. */
function disconnected(sessionId: string, cause: unknown): EnsembleError {
  return new EnsembleError(
    ErrorCode.UpstreamUnavailable,
    `The connection to the orchestrator was lost before the workflow finished. The workflow is kept: re-send the request with ${SESSION_ID_HEADER}: ${sessionId} to resume it or get its result.`,
    { cause, wireCode: 'orchestrator_disconnected', details: { session_id: sessionId } },
  );
}

function errorFrame(error: EnsembleError): string {
  const body: OpenAIErrorBody = toOpenAIErrorBody(error);
  return sseFrame({ data: body });
}

function json(body: unknown, status: number, headers: Record<string, string>): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}
