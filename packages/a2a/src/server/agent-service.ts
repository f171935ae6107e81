import { createHash } from 'node:crypto';

import type {
  AgentCard,
  CancelTaskRequest,
  ListTasksRequest,
  ListTasksResponse,
  Message,
  SendMessageRequest,
  StreamResponse,
  Task,
  TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import { A2A_VERSION_HEADER, TaskState } from '@a2a-js/sdk';
import {
  type AgentExecutor,
  DefaultExecutionEventBusManager,
  DefaultRequestHandler,
  InMemoryPushNotificationStore,
  InMemoryTaskStore,
  type PushNotificationStore,
  type RequestContext,
  type ServerCallContext,
  type TaskStore,
} from '@a2a-js/sdk/server';
import { RequestMalformedError, TaskNotCancelableError } from '@a2a-js/sdk/errors';
import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { type ReadinessCheck, type RunningServer, type ServiceEnv, bearerAuth, createHttpApp, mountReadiness, serveHttp } from '@ensemble/service';
import type { Logger } from '@ensemble/telemetry';
import type { Context, Hono } from 'hono';

import { AGENT_CARD_PATH, type AgentCardSpec, JSONRPC_PATH, REST_PATH, agentCardToJson, buildAgentCard, toLegacyAgentCardJson } from '../card.js';
import { isTerminalState } from '../parts.js';
import { DEFAULT_A2A_MAX_BODY_BYTES } from '../settings.js';
import type { ChunkCoalescingOptions } from './chunk-coalescer.js';
import { type WriteBehindOptions, WriteBehindTaskStore } from './write-behind-task-store.js';
import { type AgentDefinition, type AgentRun, KitExecutor, createAgentExecutor } from './executor.js';
import { KitPushNotificationSender, type PushDeliveryOptions } from './push-sender.js';
import { type PushUrlPolicy, checkPushUrl } from './push-url.js';
import { mountJsonRpc, mountRest, withTrailingSlash } from './transports.js';
import { renderA2AError } from './wire-errors.js';

export interface AgentServiceOptions {
  /** What the agent is; endpoints, versions and security are added by the kit. */
  card: AgentCardSpec;
  /**
   * The agent's logic: an `AgentRun` (`async function* run(input, ctx)`), an object `{ run }`, or a raw
   * SDK `AgentExecutor` (then cancellation and shutdown are the executor's own business).
   */
  executor: AgentRun | AgentDefinition | AgentExecutor;
  /** Where tasks live. Default: in memory (lost on restart); use `RedisTaskStore` in deployments. */
  taskStore?: TaskStore;
  logger: Logger;
  /** Bearer tokens accepted on the A2A endpoints (card and `/health` stay public). None: no auth. */
  auth?: { tokens: readonly string[] };
  /**
   * Base URL announced in the card when it differs from the bound address (behind a proxy), or when
   * the app is used in-process without `start`.
   */
  publicUrl?: string;
  /** Serve v0.3 clients too (v0.3 card on request, v0.3 JSON-RPC methods). Default true. */
  legacyCompat?: boolean;
  /** Default grace period of `stop()`. Default 10 s. */
  shutdownGraceMs?: number;
  /** Largest accepted request body (`A2A_MAX_BODY_BYTES`). Default 4 MiB. */
  maxBodyBytes?: number;
  /**
   * Batching of streamed text (`yield`, `ctx.artifactChunk`) into fewer artifact events. Off by default:
   * clients get every piece as it comes, and the store writes those events cause are batched by
   * `storeWriteBehind` instead.
   */
  chunkCoalescing?: ChunkCoalescingOptions;
  /**
   * Batching of the task-store writes of artifact-only updates (the SDK saves the whole task for every
   * streamed chunk). Applies to a given `taskStore`; status changes are always written at once. Default
   * 50 ms; `false` writes every save through.
   */
  storeWriteBehind?: Omit<WriteBehindOptions, 'logger'> | false;
  /**
   * What `GET /ready` verifies (the task store's Redis, the LLM, the database). None: ready whenever it
   * serves and is not draining. `/health` (liveness) never looks at dependencies.
   */
  readiness?: readonly ReadinessCheck[];
  /**
   * A2A push notifications (`capabilities.pushNotifications`): the push-config methods, and a POST of the
   * task's `StreamResponse` to each config's URL when the task's state changes. On by default, with
   * configs in memory; give a `RedisPushNotificationStore` so configs outlive the process and reach every
   * replica. `false` turns the capability off (the methods answer PushNotificationNotSupportedError).
   */
  pushNotifications?: PushNotificationOptions | false;
}

export interface PushNotificationOptions extends Pick<PushDeliveryOptions, 'timeoutMs' | 'maxAttempts' | 'initialDelayMs'> {
  /** Where configs live. Default: in memory (this process only). */
  store?: PushNotificationStore;
  /**
   * Accept webhooks on loopback and private networks (`A2A_PUSH_ALLOW_PRIVATE`; development only).
   * Link-local and cloud-metadata addresses are refused regardless.
   */
  allowPrivate?: boolean;
  /** Host resolution of the URL check; injected in tests. */
  resolve?: PushUrlPolicy['resolve'];
}

export interface AgentService {
  /** The Hono app; add routes before `start` if the service needs more than A2A. */
  readonly app: Hono<ServiceEnv>;
  /** The served card; `undefined` until the URL is known (`start`, or `publicUrl`). */
  readonly card: AgentCard | undefined;
  /** Runs in progress in this process. */
  readonly activeTasks: number;
  /** Binds (port 0 picks a free port), builds the card for the bound URL, and serves. */
  start(options: { host: string; port: number }): Promise<RunningServer>;
  /**
   * Graceful shutdown: refuses new tasks at once (503, so callers go to another replica), lets running
   * tasks finish for up to `graceMs`, then cancels the rest with a status message saying why, waits for
   * those final states to be stored, and closes the server. Tasks waiting for approval are untouched:
   * they live in the task store and resume on any replica.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Final states written after shutdown cancellation are awaited this long before the server closes. */
const SETTLE_TIMEOUT_MS = 2_000;
/** Time given to open responses to finish once every run is over, before connections are cut. */
const FLUSH_MS = 500;

/**
 * Wraps the task store to learn when given tasks have been saved in a final state, so shutdown can
 * wait for the canceled tasks to be persisted instead of guessing with a sleep.
 */
class SettlingTaskStore implements TaskStore {
  private readonly waiters = new Map<string, () => void>();

  /** `onSaved`: told of every save once it is done (the kit's `ctx.processed()` counts them). */
  constructor(
    private readonly inner: TaskStore,
    private readonly onSaved: (taskId: string) => void,
  ) {}

  async save(task: Task, context: ServerCallContext): Promise<void> {
    await this.inner.save(task, context);
    this.onSaved(task.id);
    if (isTerminalState(task.status?.state)) this.waiters.get(task.id)?.();
  }

  load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    return this.inner.load(taskId, context);
  }

  list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    return this.inner.list(params, context);
  }

  /** Resolves once every listed task has been saved in a final state, or after `timeoutMs`. */
  async settled(taskIds: readonly string[], timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const each = taskIds.map((id) => new Promise<void>((resolve) => this.waiters.set(id, resolve)));
    await Promise.race([Promise.all(each), deadline]);
    clearTimeout(timer);
    for (const id of taskIds) this.waiters.delete(id);
  }
}

/** `ServerCallContext.state` key holding the message's `contextId` exactly as the client sent it. */
const CLIENT_CONTEXT_ID_KEY = 'ensemble.clientContextId';

/**
 * The `contextId` the client put on its message, or `undefined` when it sent none. The SDK replaces an
 * empty `contextId` with a fresh UUID before the executor runs (in `RequestContext.contextId` and in the
 * message it hands over), so an executor cannot otherwise tell a client's own new context (which the
 * spec says must be kept or refused, TCK CORE-MULTI-002a) from one the SDK made up.
 */
export function clientContextId(context: RequestContext): string | undefined {
  const sent = context.context.state.get(CLIENT_CONTEXT_ID_KEY);
  return typeof sent === 'string' && sent !== '' ? sent : undefined;
}

function rememberClientContextId(params: SendMessageRequest, context: ServerCallContext): void {
  context.state.set(CLIENT_CONTEXT_ID_KEY, params.message?.contextId ?? '');
}

/**
 * The SDK's request handler with the behaviours the spec words differently or the SDK leaves out:
 * - `CancelTask` on a task that is already canceled is a TaskNotCancelableError (-32002 / 409) like any
 *   other final state (A2A §3.1.5, TCK CORE-CANCEL-002), where the SDK returns the task as if the cancel
 *   had worked;
 * - a push-notification URL (set with `CreateTaskPushNotificationConfig` or in a message's
 *   configuration) is checked before it is stored (`checkPushUrl`), and refused with InvalidParams
 *   (-32602 / 400) naming the reason.
 */
class KitRequestHandler extends DefaultRequestHandler {
  constructor(
    private readonly tasks: TaskStore,
    private readonly pushPolicy: PushUrlPolicy | undefined,
    ...args: ConstructorParameters<typeof DefaultRequestHandler>
  ) {
    super(...args);
  }

  // Both record the client's own `contextId` (see `clientContextId`) before the SDK fills it in.
  override async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | Task> {
    rememberClientContextId(params, context);
    await this.checkPushConfig(params.configuration?.taskPushNotificationConfig);
    return super.sendMessage(params, context);
  }

  override async *sendMessageStream(params: SendMessageRequest, context: ServerCallContext): AsyncGenerator<StreamResponse, void, undefined> {
    rememberClientContextId(params, context);
    await this.checkPushConfig(params.configuration?.taskPushNotificationConfig);
    yield* super.sendMessageStream(params, context);
  }

  override async createTaskPushNotificationConfig(params: TaskPushNotificationConfig, context: ServerCallContext): Promise<TaskPushNotificationConfig> {
    await this.checkPushConfig(params);
    return super.createTaskPushNotificationConfig(params, context);
  }

  private async checkPushConfig(config: TaskPushNotificationConfig | undefined): Promise<void> {
    if (config === undefined || this.pushPolicy === undefined) return;
    const checked = await checkPushUrl(config.url, this.pushPolicy);
    if (!checked.ok) throw new RequestMalformedError(checked.message);
  }

  override async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    const task = params.id === '' ? undefined : await this.tasks.load(params.id, context);
    if (task?.status?.state === TaskState.TASK_STATE_CANCELED) throw new TaskNotCancelableError(`Task ${params.id} is already canceled.`);
    return super.cancelTask(params, context);
  }
}

/** The URL policy, config store and sender of an agent's push notifications. */
function pushNotificationsFor(options: PushNotificationOptions, logger: Logger) {
  const policy: PushUrlPolicy = { allowPrivate: options.allowPrivate ?? false, resolve: options.resolve };
  const store = options.store ?? new InMemoryPushNotificationStore();
  const sender = new KitPushNotificationSender({ ...options, ...policy, store, logger });
  return { policy, store, sender };
}

function isSdkExecutor(value: AgentServiceOptions['executor']): value is AgentExecutor {
  return typeof value === 'object' && 'execute' in value && 'cancelTask' in value;
}

/**
 * An A2A agent as an HTTP service: Agent Card at `/.well-known/agent-card.json` (v1.0, or v0.3 when the
 * caller asks for it), JSON-RPC at `/a2a/jsonrpc`, HTTP+JSON at `/a2a/rest` (both with or without a
 * trailing slash), SSE streaming, `/health`, optional bearer auth, traces and JSON logs through
 * `createHttpApp`, and graceful shutdown. Every error under `/a2a` is written in its binding's format
 * (JSON-RPC error object, or AIP-193 under `/a2a/rest`); the service's other routes keep OpenAI errors.
 */
export function createAgentService(options: AgentServiceOptions): AgentService {
  const { logger } = options;
  const legacyCompat = options.legacyCompat ?? true;
  const tokens = options.auth?.tokens ?? [];
  // A durable store (Redis) gets its streaming writes batched; the default in-memory one needs no help.
  const writeBehind =
    options.taskStore === undefined || options.storeWriteBehind === false ? undefined : new WriteBehindTaskStore(options.taskStore, { ...options.storeWriteBehind, logger });
  // `kit` is set below, before any request can save a task.
  const store = new SettlingTaskStore(writeBehind ?? options.taskStore ?? new InMemoryTaskStore(), (taskId) => kit?.noteStored(taskId));
  const executor = isSdkExecutor(options.executor)
    ? options.executor
    : createAgentExecutor(options.executor, { agentName: options.card.name, logger, chunkCoalescing: options.chunkCoalescing });
  const kit = executor instanceof KitExecutor ? executor : undefined;
  const push = options.pushNotifications === false ? undefined : pushNotificationsFor(options.pushNotifications ?? {}, logger);

  let card: AgentCard | undefined;
  /** The card as served, serialized once, with its ETag (a hash of these bytes). */
  let cardBodies: { v1: CardDocument; legacy: CardDocument | undefined } | undefined;
  let handler: DefaultRequestHandler | undefined;
  let running: RunningServer | undefined;
  let draining = false;

  const useUrl = (baseUrl: string) => {
    card = buildAgentCard(options.card, { baseUrl, bearerAuth: tokens.length > 0, legacyCompat, pushNotifications: push !== undefined });
    handler = new KitRequestHandler(store, push?.policy, card, store, executor, new DefaultExecutionEventBusManager(), push?.store, push?.sender, undefined, undefined, {
      // Our executors return when a task needs approval and resume from the store on the answer (on any
      // replica), so an auth-required task keeps no in-process bus; streams end there, as clients expect.
      keepBusAliveStates: [TaskState.TASK_STATE_INPUT_REQUIRED],
      // A part whose media type the card does not list is refused (ContentTypeNotSupportedError, -32005 /
      // 415) instead of reaching an agent that would silently ignore it. Parts without one pass.
      validateInputModes: true,
    });
    cardBodies = { v1: cardDocument(agentCardToJson(card)), legacy: legacyCompat ? cardDocument(toLegacyAgentCardJson(card)) : undefined };
  };
  if (options.publicUrl !== undefined) useUrl(options.publicUrl);

  const app = createHttpApp({
    logger,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_A2A_MAX_BODY_BYTES,
    renderError: renderA2AError,
  });

  app.get('/health', (c) =>
    c.json({ status: draining ? 'draining' : 'ok', agent: options.card.name, running_tasks: kit?.activeCount ?? null }, draining ? 503 : 200),
  );
  mountReadiness(app, { checks: options.readiness ?? [], isDraining: () => draining });

  app.get(AGENT_CARD_PATH, (c) => {
    if (cardBodies === undefined) throw new EnsembleError(ErrorCode.Unavailable, 'Agent service is not started');
    const requested = c.req.header(A2A_VERSION_HEADER) || '0.3';
    // Same negotiation as the SDK's card handler: no header (or 0.x) gets the v0.3 card, which also
    // embeds the v1.0 interfaces (so a v1.0 reader that sends no header still finds every endpoint).
    const body = legacyCompat && cardBodies.legacy !== undefined && /^0\./.test(requested) ? cardBodies.legacy : cardBodies.v1;
    return cardResponse(c, body);
  });

  if (tokens.length > 0) {
    // A refusal is an error like any other on these routes: `renderA2AError` writes it in the binding's
    // format, with the `WWW-Authenticate` header `bearerAuth` set.
    const gate = bearerAuth(tokens);
    for (const route of [...withTrailingSlash(JSONRPC_PATH), `${REST_PATH}/*`]) app.use(route, gate);
  }

  const deps = { handler: () => handler, legacyCompat, isDraining: () => draining, logger };
  mountJsonRpc(app, JSONRPC_PATH, deps);
  mountRest(app, REST_PATH, deps);

  // One object per service, made once: the lint rule against accessors in object literals is about
  // objects made per request.
  /* eslint-disable no-restricted-syntax */
  return {
    app,
    get card() {
      return card;
    },
    get activeTasks() {
      return kit?.activeCount ?? 0;
    },
    /* eslint-enable no-restricted-syntax */
    async start({ host, port }) {
      if (running !== undefined) throw new EnsembleError(ErrorCode.Conflict, 'Agent service is already started');
      // The card must carry the real URL, known only once bound (port 0): serve first, then build it.
      // Until then the card route answers 503; the `listening` line is written before any request.
      running = await serveHttp(app, { host, port, logger, service: options.card.name });
      if (options.publicUrl === undefined) useUrl(running.url);
      return running;
    },
    async stop(graceMs = options.shutdownGraceMs ?? 10_000) {
      if (draining) return;
      draining = true;
      const started = performance.now();
      logger.info({ running_tasks: kit?.activeCount ?? 0, grace_ms: graceMs }, 'draining');
      if (kit !== undefined && !(await kit.waitForIdle(graceMs))) {
        const reason = `The agent shut down before the task finished (grace period of ${graceMs} ms elapsed).`;
        const canceled = kit.cancelAll(reason);
        logger.warn({ task_ids: canceled }, 'canceled running tasks at shutdown');
        await store.settled(canceled, SETTLE_TIMEOUT_MS);
      }
      // Final states are written through; this writes any streamed text still batched (tasks left
      // waiting for approval keep their full artifacts for the replica that resumes them).
      await writeBehind?.flush();
      // Notifications of those last states are on their way: let them go out (bounded by the retries).
      await push?.sender.drain(SETTLE_TIMEOUT_MS);
      // With our executor, every run is over here: the responses still open only have their last bytes
      // to write (or belong to callers that went away), so a short window is enough. A raw SDK executor
      // gives no such signal, so it gets what is left of the grace period.
      const left = kit === undefined ? Math.max(SETTLE_TIMEOUT_MS, graceMs - (performance.now() - started)) : FLUSH_MS;
      if (running !== undefined) {
        // Connections that carried a stream stay open (keep-alive) once it ends; close them as they go
        // idle so the server closes when the last response is done rather than at the deadline.
        const server = running.server;
        const sweeper = setInterval(() => server.closeIdleConnections(), 50);
        try {
          await running.close(left);
        } finally {
          clearInterval(sweeper);
        }
      }
      running = undefined;
      logger.info({ duration_ms: Math.round(performance.now() - started) }, 'stopped');
    },
  };
}

interface CardDocument {
  body: string;
  etag: string;
}

function cardDocument(json: Record<string, unknown>): CardDocument {
  const body = JSON.stringify(json);
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/**
 * Serves a card document with the caching headers the spec recommends (§8.6): `Cache-Control` with a
 * max-age, a strong `ETag` over the exact bytes, and `304 Not Modified` for a matching `If-None-Match`.
 */
function cardResponse(c: Context<ServiceEnv>, { body, etag }: CardDocument): Response {
  c.header('Vary', A2A_VERSION_HEADER);
  c.header('Cache-Control', 'public, max-age=300');
  c.header('ETag', etag);
  const match = c.req.header('If-None-Match');
  if (match !== undefined && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*')) return c.body(null, 304);
  return c.body(body, 200, { 'Content-Type': 'application/json' });
}
