import {
  A2A_PROTOCOL_VERSION,
  A2A_VERSION_HEADER,
  type AgentCard,
  type Artifact,
  type Message,
  type StreamResponse,
  type Task,
  type TaskArtifactUpdateEvent,
  TaskState,
  type TaskStatusUpdateEvent,
} from '@a2a-js/sdk';
import { type Client, ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';
import { type FetchFunction, sharedNodeFetch } from '@ensemble/service';
import { type Logger, currentLogContext } from '@ensemble/telemetry';
import type { IPolicy } from 'cockatiel';

import { AGENT_CARD_PATH, parseAgentCard } from '../card.js';
import { type MessageInput, isInterruptedState, isTerminalState, partsData, partsText, taskStateName, userMessage } from '../parts.js';
import { A2AClientError, type Target, networkError, taskOutcomeError, toClientError } from './errors.js';
import { type BreakerOptions, type RetryOptions, agentBreaker, retryPolicy, retryableBeforeTask, retryableRead } from './resilience.js';

export interface A2AClientOptions {
  /** The agent's base URL (the card is fetched from `/.well-known/agent-card.json`), or the card URL. */
  url?: string;
  /** A card already in hand (discovery): no fetch. */
  card?: AgentCard;
  /**
   * What errors call the agent until its card is read (a card fetch that fails). Default `unnamed`:
   * never the host, since error messages may reach clients (the URL goes to the log instead).
   */
  name?: string;
  /** Bearer token sent as `Authorization` (the agent's `AGENT_AUTH_TOKENS`). */
  token?: string;
  /** Per attempt, for blocking calls; for streams, the longest quiet gap between events. Default 60 s. */
  timeoutMs?: number;
  /** Backoff for the calls that are safe to repeat; `false` disables. */
  retry?: RetryOptions | false;
  /** Options of the agent's process-wide breaker (first client of an agent sets them); `false` disables. */
  breaker?: BreakerOptions | false;
  logger?: Logger;
  /**
   * `fetch` to use (tests, custom dispatchers). Default for calls: the process-wide `node:http` one from
   * `@ensemble/service` (`sharedNodeFetch`), which costs a third less per call than the global `fetch` and
   * sends `traceparent` itself; for the card, the global `fetch` (it follows redirects).
   */
  fetch?: typeof fetch;
  /** Talk to v0.3 agents through the SDK's compatibility layer. Default true. */
  legacyCompat?: boolean;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number;
}

export interface StreamOptions extends CallOptions {
  /**
   * Stop reading when the task waits for the caller (`input-required`, `auth-required`), as well as on
   * final states. Default true: an A2A stream may stay open across an interruption.
   */
  stopOnInterrupt?: boolean;
}

/** One event of a task's stream, with the fields a consumer needs read out of the SDK objects. */
export type A2AStreamEvent =
  | { kind: 'task'; task: Task; state: TaskState; final: boolean }
  | { kind: 'message'; message: Message; text: string; final: true }
  | {
      kind: 'status';
      taskId: string;
      contextId: string;
      state: TaskState;
      /** The status message (progress text, approval request, failure reason), if any. */
      message: Message | undefined;
      text: string;
      data: Record<string, unknown>[];
      /** Final or interrupted: nothing more comes until the caller acts. */
      final: boolean;
      event: TaskStatusUpdateEvent;
    }
  | {
      kind: 'artifact';
      taskId: string;
      contextId: string;
      artifact: Artifact;
      append: boolean;
      lastChunk: boolean;
      text: string;
      data: Record<string, unknown>[];
      final: false;
      event: TaskArtifactUpdateEvent;
    };

export interface A2AClient {
  readonly card: AgentCard;
  /** The agent's name (from the card), used in errors and logs. */
  readonly agent: string;
  /**
   * Sends a message and waits for the task to finish or to need the caller (`auth-required` and
   * `input-required` tasks are returned). Throws `A2AClientError` `task_failed` / `rejected` /
   * `task_canceled` when it ends badly. Retried only when the request cannot have reached the agent.
   */
  send(message: MessageInput | Message, options?: CallOptions): Promise<Task | Message>;
  /** Sends a message and streams the task's events; ends after a final (or, by default, interrupted) state. */
  stream(message: MessageInput | Message, options?: StreamOptions): AsyncGenerator<A2AStreamEvent, void, undefined>;
  /** The task as stored by the agent (any replica). Retried on transient failures. */
  getTask(taskId: string, options?: CallOptions & { historyLength?: number }): Promise<Task>;
  /** Cancels a task; returns it in its final state. */
  cancelTask(taskId: string, options?: CallOptions): Promise<Task>;
  /** Re-attaches to a running task's stream (after a dropped connection). */
  subscribe(taskId: string, options?: StreamOptions): AsyncGenerator<A2AStreamEvent, void, undefined>;
  /**
   * The caller's tasks in one context (`ListTasks`, newest status first, at most `pageSize` of them,
   * default 50), each with its whole history. Retried on transient failures; an agent without the
   * method answers with an `A2AClientError`.
   */
  listTasks(contextId: string, options?: CallOptions & { pageSize?: number }): Promise<Task[]>;
}

interface Caller {
  target: Target;
  logger: Logger | undefined;
  timeoutMs: number;
  breaker: IPolicy;
  readPolicy: IPolicy;
  writePolicy: IPolicy;
}

function makeCaller(target: Target, options: A2AClientOptions): Caller {
  const retryOptions = options.retry ?? {};
  const onRetry = ({ error, attempt, delayMs }: { error: A2AClientError; attempt: number; delayMs: number }) =>
    options.logger?.warn({ agent: target.agent, url: target.url, kind: error.kind, attempt, delay_ms: Math.round(delayMs) }, 'retrying A2A call');
  return {
    target,
    logger: options.logger,
    timeoutMs: options.timeoutMs ?? 60_000,
    breaker: options.breaker === false ? retryPolicy(false, () => false) : agentBreaker(target.url, options.breaker),
    readPolicy: retryPolicy(retryOptions, retryableRead, onRetry),
    writePolicy: retryPolicy(retryOptions, retryableBeforeTask, onRetry),
  };
}

/**
 * One call with a per-attempt timeout, through the agent's breaker and the given retry policy; every
 * failure comes out as an `A2AClientError`.
 */
async function invoke<T>(caller: Caller, policy: IPolicy, fn: (signal: AbortSignal) => Promise<T>, options: CallOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? caller.timeoutMs;
  const attempt = async (): Promise<T> => {
    try {
      return await caller.breaker.execute(async () => {
        const controller = new AbortController();
        const onAbort = () => controller.abort(options.signal?.reason);
        options.signal?.addEventListener('abort', onAbort, { once: true });
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, timeoutMs);
        try {
          return await fn(controller.signal);
        } catch (error) {
          if (timedOut) throw new A2AClientError('timeout', `no answer within ${timeoutMs} ms`, { ...caller.target, cause: error });
          if (options.signal?.aborted === true) throw new A2AClientError('aborted', 'call aborted by the caller', { ...caller.target, cause: error });
          throw toClientError(error, caller.target);
        } finally {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        }
      });
    } catch (error) {
      throw toClientError(error, caller.target);
    }
  };
  try {
    return await policy.execute(attempt, options.signal);
  } catch (error) {
    throw reported(caller, toClientError(error, caller.target));
  }
}

/**
 * Logs a failed call with the agent's URL, which its message leaves out (see `A2AClientError`): a
 * link or protocol failure at warn, the agent's own refusal or the caller's abort below that.
 */
function reported(caller: Pick<Caller, 'logger'>, error: A2AClientError): A2AClientError {
  const line = { agent: error.agent, url: error.url, kind: error.kind, rpc_code: error.rpcCode, err: error };
  if (error.kind === 'aborted') caller.logger?.debug(line, 'A2A call aborted');
  else if (error.kind === 'task_not_found' || error.kind === 'task_not_cancelable') caller.logger?.info(line, 'A2A call refused');
  else caller.logger?.warn(line, 'A2A call failed');
  return error;
}

/**
 * `fetch` with the bearer token, the caller's request id (`X-Request-ID` from the log context of the
 * request being served, so one id follows a request from the gateway through the orchestrator to every
 * agent), and HTTP-level failures turned into typed errors before the SDK sees them: connection failures (marked when the request cannot have been delivered), 401/403, and
 * 502/503/504 (a draining replica answers 503 before creating any task, so that one is safe to retry).
 */
function agentFetch(base: FetchFunction, token: string | undefined, target: () => Target): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    if (token !== undefined && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    const requestId = currentLogContext()['request_id'];
    if (typeof requestId === 'string' && !headers.has('x-request-id')) headers.set('x-request-id', requestId);
    let response: Response;
    try {
      response = await base(input, { ...init, headers });
    } catch (error) {
      if (init?.signal?.aborted === true) throw error;
      throw networkError(error, target()) ?? error;
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new A2AClientError('unauthorized', `the agent refused our credentials (HTTP ${response.status})`, target());
    }
    if (response.status === 502 || response.status === 503 || response.status === 504) {
      const text = await response.text().catch(() => '');
      throw new A2AClientError('unavailable', `the agent is unavailable (HTTP ${response.status})${text.includes('shutting down') ? ': shutting down' : ''}`, {
        ...target(),
        notDelivered: response.status === 503,
      });
    }
    return response;
  };
}

function cardUrl(url: string): string {
  if (/\.json$/.test(new URL(url).pathname)) return url;
  return `${url.replace(/\/+$/, '')}${AGENT_CARD_PATH}`;
}

/**
 * Fetches and parses an Agent Card (v1.0, or v0.3 read into the v1.0 shape), with the same timeout,
 * retries and per-agent breaker as every other call. Discovery uses this too.
 */
export async function fetchAgentCard(
  url: string,
  options: Pick<A2AClientOptions, 'name' | 'token' | 'timeoutMs' | 'retry' | 'breaker' | 'logger' | 'fetch'> & CallOptions = {},
): Promise<AgentCard> {
  const target: Target = { agent: options.name ?? 'unnamed', url };
  const caller = makeCaller(target, options);
  // The global `fetch` here: a card is fetched rarely, and a card URL may redirect (a CDN, http -> https),
  // which the `node:http` fetch of the calls does not follow.
  const doFetch = agentFetch(options.fetch ?? globalThis.fetch, options.token, () => target);
  return invoke(
    caller,
    caller.readPolicy,
    async (signal) => {
      // Ask for the v1.0 card explicitly: without the header an agent with v0.3 compat serves the v0.3 form.
      const response = await doFetch(cardUrl(url), { headers: { [A2A_VERSION_HEADER]: A2A_PROTOCOL_VERSION, accept: 'application/json' }, signal });
      if (!response.ok) throw new A2AClientError('protocol', `agent card request answered HTTP ${response.status}`, target);
      let raw: unknown;
      try {
        raw = await response.json();
      } catch (error) {
        throw new A2AClientError('protocol', 'agent card is not valid JSON', { ...target, cause: error });
      }
      try {
        return parseAgentCard(raw);
      } catch (error) {
        throw new A2AClientError('protocol', error instanceof Error ? error.message : 'invalid agent card', { ...target, cause: error });
      }
    },
    options,
  );
}

function toStreamEvent(response: StreamResponse): A2AStreamEvent | undefined {
  const payload = response.payload;
  switch (payload?.$case) {
    case undefined:
      return undefined;
    case 'task': {
      const state = payload.value.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
      return { kind: 'task', task: payload.value, state, final: isTerminalState(state) };
    }
    case 'message':
      return { kind: 'message', message: payload.value, text: partsText(payload.value.parts), final: true };
    case 'statusUpdate': {
      const event = payload.value;
      const state = event.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
      const message = event.status?.message;
      return {
        kind: 'status',
        taskId: event.taskId,
        contextId: event.contextId,
        state,
        message,
        text: partsText(message?.parts),
        data: partsData(message?.parts),
        final: isTerminalState(state) || isInterruptedState(state),
        event,
      };
    }
    case 'artifactUpdate': {
      const event = payload.value;
      const artifact = event.artifact ?? { artifactId: '', name: '', description: '', parts: [], metadata: undefined, extensions: [] };
      return {
        kind: 'artifact',
        taskId: event.taskId,
        contextId: event.contextId,
        artifact,
        append: event.append,
        lastChunk: event.lastChunk,
        text: partsText(artifact.parts),
        data: partsData(artifact.parts),
        final: false,
        event,
      };
    }
  }
}

function failedStateOf(state: TaskState | undefined): 'failed' | 'rejected' | 'canceled' | undefined {
  if (state === TaskState.TASK_STATE_FAILED) return 'failed';
  if (state === TaskState.TASK_STATE_REJECTED) return 'rejected';
  if (state === TaskState.TASK_STATE_CANCELED) return 'canceled';
  return undefined;
}

/**
 * A client for one A2A agent, over the SDK's `ClientFactory` (JSON-RPC preferred, HTTP+JSON, v0.3
 * agents through the compat layer). Adds per-call timeouts, retries only where repeating is safe, the
 * agent's shared circuit breaker, the bearer token, and typed errors. Trace context rides on `fetch`
 * (`traceparent` from the active span).
 */
export async function createA2AClient(options: A2AClientOptions): Promise<A2AClient> {
  if (options.card === undefined && options.url === undefined) throw new TypeError('createA2AClient needs a url or a card');
  const card = options.card ?? (await fetchAgentCard(options.url!, options));
  const endpoint = card.supportedInterfaces[0]?.url ?? options.url!;
  const target: Target = { agent: card.name, url: options.url ?? endpoint };
  const caller = makeCaller(target, options);
  const fetchImpl = agentFetch(options.fetch ?? sharedNodeFetch(), options.token, () => target);
  const legacyCompat = { enabled: options.legacyCompat ?? true };
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl, legacyCompat }), new RestTransportFactory({ fetchImpl, legacyCompat })],
      preferredTransports: ['JSONRPC'],
    }),
  );
  let client: Client;
  try {
    client = await factory.createFromAgentCard(card);
  } catch (error) {
    throw new A2AClientError('protocol', `no usable interface in the agent card: ${error instanceof Error ? error.message : String(error)}`, {
      ...target,
      cause: error,
    });
  }
  const logger = options.logger;

  async function* streamEvents(
    open: (signal: AbortSignal) => AsyncGenerator<StreamResponse, void, undefined>,
    policy: IPolicy,
    streamOptions: StreamOptions = {},
  ): AsyncGenerator<A2AStreamEvent, void, undefined> {
    const idleMs = streamOptions.timeoutMs ?? caller.timeoutMs;
    const stopOnInterrupt = streamOptions.stopOnInterrupt ?? true;
    const controller = new AbortController();
    const onAbort = () => controller.abort(streamOptions.signal?.reason);
    streamOptions.signal?.addEventListener('abort', onAbort, { once: true });
    let source: AsyncGenerator<StreamResponse, void, undefined> | undefined;
    try {
      // Opening the stream (up to its first event) goes through the breaker and the retry policy.
      const first = await invoke(
        caller,
        policy,
        async (signal) => {
          const attemptSignal = AbortSignal.any([signal, controller.signal]);
          source = open(attemptSignal);
          return source.next();
        },
        streamOptions,
      );
      let step = first;
      while (step.done !== true) {
        const event = toStreamEvent(step.value);
        if (event !== undefined) {
          yield event;
          if (event.kind === 'message' || isTerminalState(stateOf(event)) || (stopOnInterrupt && isInterruptedState(stateOf(event)))) return;
        }
        step = await nextWithin(source!, idleMs, controller);
      }
    } catch (error) {
      if (error instanceof A2AClientError) throw error;
      if (controller.signal.reason === IDLE) {
        throw reported(caller, new A2AClientError('timeout', `stream quiet for more than ${idleMs} ms`, { ...target, cause: error }));
      }
      if (streamOptions.signal?.aborted === true) throw reported(caller, new A2AClientError('aborted', 'stream aborted by the caller', { ...target, cause: error }));
      throw reported(caller, toClientError(error, target));
    } finally {
      streamOptions.signal?.removeEventListener('abort', onAbort);
      if (!controller.signal.aborted) controller.abort(STREAM_OVER);
      await source?.return().catch(() => undefined);
    }
  }

  return {
    card,
    agent: card.name,
    async send(input, callOptions) {
      const message = 'role' in input ? input : userMessage(input);
      const result = await invoke(caller, caller.writePolicy, (signal) => client.sendMessage({ message, configuration: undefined, metadata: undefined, tenant: '' }, { signal }), callOptions);
      if ('messageId' in result) return result;
      const failure = taskOutcomeError(result, target, failedStateOf(result.status?.state));
      logger?.debug({ agent: target.agent, task_id: result.id, state: taskStateName(result.status?.state) }, 'A2A task returned');
      if (failure !== undefined) throw failure;
      return result;
    },
    stream(input, streamOptions) {
      const message = 'role' in input ? input : userMessage(input);
      return streamEvents((signal) => client.sendMessageStream({ message, configuration: undefined, metadata: undefined, tenant: '' }, { signal }), caller.writePolicy, streamOptions);
    },
    async getTask(taskId, callOptions) {
      return invoke(caller, caller.readPolicy, (signal) => client.getTask({ id: taskId, historyLength: callOptions?.historyLength, tenant: '' }, { signal }), callOptions);
    },
    async cancelTask(taskId, callOptions) {
      return invoke(caller, caller.writePolicy, (signal) => client.cancelTask({ id: taskId, metadata: undefined, tenant: '' }, { signal }), callOptions);
    },
    subscribe(taskId, streamOptions) {
      return streamEvents((signal) => client.resubscribeTask({ id: taskId, tenant: '' }, { signal }), caller.readPolicy, streamOptions);
    },
    async listTasks(contextId, callOptions) {
      const request = { tenant: '', contextId, status: TaskState.TASK_STATE_UNSPECIFIED, pageSize: callOptions?.pageSize ?? 50, pageToken: '', statusTimestampAfter: undefined };
      const page = await invoke(caller, caller.readPolicy, (signal) => client.listTasks(request, { signal }), callOptions);
      return page.tasks;
    },
  };
}

const IDLE = Symbol('idle timeout');
/** Why a finished stream's request is aborted (one shared reason: `abort()` alone builds a DOMException per call). */
const STREAM_OVER = new Error('stream over');

function stateOf(event: A2AStreamEvent): TaskState | undefined {
  return event.kind === 'task' || event.kind === 'status' ? event.state : undefined;
}

/** The next stream item, or abort the stream (reason `IDLE`) when none comes within `ms`. */
async function nextWithin<T>(source: AsyncGenerator<T, void, undefined>, ms: number, controller: AbortController): Promise<IteratorResult<T, void>> {
  const timer = setTimeout(() => controller.abort(IDLE), ms);
  try {
    return await source.next();
  } finally {
    clearTimeout(timer);
  }
}
