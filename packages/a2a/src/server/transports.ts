import type { ServerResponse } from 'node:http';

import {
  A2A_CONTENT_TYPE,
  A2A_VERSION_HEADER,
  AgentCard,
  Extensions,
  HTTP_EXTENSION_HEADER,
  ListTaskPushNotificationConfigsResponse,
  ListTasksResponse,
  SSE_HEADERS,
  SendMessageRequest,
  SendMessageResponse,
  StreamResponse,
  Task,
  TaskPushNotificationConfig,
  TaskState,
  formatSSEErrorEvent,
  formatSSEEvent,
  taskStateFromJSON,
} from '@a2a-js/sdk';
import { LEGACY_HTTP_EXTENSION_HEADER } from '@a2a-js/sdk/compat/v0_3';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import {
  A2AError,
  A2A_ERROR_CODE,
  ContentTypeNotSupportedError,
  RequestMalformedError,
  restStatusFor as sdkRestStatusFor,
  toRestErrorBody,
} from '@a2a-js/sdk/errors';
import {
  type A2ARequestHandler,
  JsonRpcTransportHandler,
  type ServerCallContext,
  type User,
  defaultServerCallContextBuilder,
  validateVersion,
} from '@a2a-js/sdk/server';
import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { NODE_STREAM_RESPONSE, type ServiceEnv, writeNodeStreamHead } from '@ensemble/service';
import type { Logger } from '@ensemble/telemetry';
import type { Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PrincipalUser } from '../principal-user.js';

/**
 * Hono adapters for the SDK's framework-agnostic transport pieces. JSON-RPC (v1.0 and the v0.3 compat
 * layer) is dispatched by the SDK's own transport handlers; for HTTP+JSON the SDK only ships an Express
 * router, so the routes below do its thin part (path matching, ProtoJSON conversion, status codes) and
 * call the SDK's `A2ARequestHandler` for everything else.
 */
export interface TransportDeps {
  /** The SDK request handler; `undefined` until the service knows its URL (before `start`). */
  handler(): A2ARequestHandler | undefined;
  legacyCompat: boolean;
  /** True while shutting down: new tasks are refused so a replica can take them. */
  isDraining(): boolean;
  logger: Logger;
}

type JsonRpcId = string | number | null;
const NEW_TASK_METHODS = new Set(['SendMessage', 'SendStreamingMessage', 'message/send', 'message/stream']);

/** The SDK's view of the caller: the principal set by `bearerAuth`, or unauthenticated. */
function userOf(c: Context<ServiceEnv>): User | undefined {
  const principal = c.var.principal;
  return principal === 'anonymous' ? undefined : new PrincipalUser(principal);
}

/**
 * The `A2A-Version` a request asks for, as Major.Minor: patch numbers must not affect negotiation (spec
 * §3.6, TCK VER-CLIENT-002), so `1.0.3` is served as `1.0`. Absent or empty: `undefined` (v0.3).
 */
export function requestedVersionOf(header: string | undefined): string | undefined {
  const version = header?.trim();
  if (version === undefined || version === '') return undefined;
  const match = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(version);
  return match === null ? version : `${match[1]}.${match[2]}`;
}

function isLegacyVersion(version: string): boolean {
  return /^0\.\d+/.test(version.trim());
}

function mediaType(header: string | undefined): string | undefined {
  return header?.split(';', 1)[0]?.trim().toLowerCase();
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function rpcEnvelopeId(body: unknown): JsonRpcId {
  if (typeof body !== 'object' || body === null) return null;
  const id = (body as { id?: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : null;
}

function rpcMethod(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const method = (body as { method?: unknown }).method;
  return typeof method === 'string' ? method : undefined;
}

function jsonRpcError(id: JsonRpcId, code: number, message: string): Record<string, unknown> {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

/**
 * What makes `body` not a JSON-RPC 2.0 request object (§4), or `undefined` when it is one. Checked
 * before the SDK sees the request: its v1.0 handler answers these with -32602 (invalid params), where
 * JSON-RPC and the A2A TCK require -32600 (invalid request).
 */
export function invalidJsonRpcEnvelope(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return Array.isArray(body) ? 'batch requests are not supported' : 'the request must be a JSON object';
  }
  const request = body as Record<string, unknown>;
  if (request['jsonrpc'] !== '2.0') return '"jsonrpc" must be exactly "2.0"';
  if (typeof request['method'] !== 'string' || request['method'] === '') return '"method" must be a non-empty string';
  const id = request['id'];
  if (id !== undefined && id !== null && typeof id !== 'string' && !(typeof id === 'number' && Number.isInteger(id))) {
    return '"id" must be a string, an integer or null';
  }
  return undefined;
}

const HISTORY_LENGTH_METHODS = new Set(['GetTask', 'tasks/get', 'ListTasks']);
const SEND_METHODS = new Set(['SendMessage', 'SendStreamingMessage', 'message/send', 'message/stream']);

/**
 * Parameter checks the SDK leaves out: a negative (or fractional) `historyLength` is refused with -32602
 * rather than read as "everything".
 */
export function invalidJsonRpcParams(method: string, params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const record = params as Record<string, unknown>;
  let historyLength: unknown;
  if (HISTORY_LENGTH_METHODS.has(method)) historyLength = record['historyLength'];
  else if (SEND_METHODS.has(method)) {
    const configuration = record['configuration'];
    historyLength = typeof configuration === 'object' && configuration !== null ? (configuration as Record<string, unknown>)['historyLength'] : undefined;
  }
  if (historyLength === undefined || historyLength === null) return undefined;
  return typeof historyLength === 'number' && Number.isInteger(historyLength) && historyLength >= 0 ? undefined : 'historyLength must be a non-negative integer';
}

/**
 * Writes an async iterator as Server-Sent Events, one `data:` line per item, inside the request's
 * context. When the client hangs up, the iterator is still drained to its end without writing: the
 * SDK persists a task's events only while someone consumes them, and the task must keep being stored
 * (for `GetTask`, resubscription, other replicas) after its first caller went away. On a served agent
 * the events go straight to the socket (see `writeNodeStreamHead`); in-process, as a streamed body.
 */
function sseResponse<T>(
  c: Context<ServiceEnv>,
  iterator: AsyncIterator<T>,
  first: IteratorResult<T>,
  encode: (item: T) => unknown,
  encodeError: (error: unknown) => unknown,
  logger: Logger,
): Response {
  const pump = async (write: (text: string) => Promise<void>, clientGone: () => boolean): Promise<void> => {
    try {
      let step = first;
      while (step.done !== true) {
        if (!clientGone()) await write(formatSSEEvent(encode(step.value)));
        step = await iterator.next();
      }
    } catch (error) {
      logger.warn({ err: error }, 'A2A stream ended with an error');
      if (!clientGone()) await write(formatSSEErrorEvent(encodeError(error)));
    }
  };

  const socket = writeNodeStreamHead(c, 200, SSE_HEADERS);
  if (socket !== undefined) {
    let gone = false;
    socket.once('close', () => {
      gone = true;
    });
    pump(
      (text) => writeToSocket(socket, text, () => gone),
      () => gone,
    )
      .catch((error: unknown) => logger.error({ err: error }, 'A2A stream could not report its failure'))
      .finally(() => socket.end());
    return NODE_STREAM_RESPONSE;
  }
  for (const [name, value] of Object.entries(SSE_HEADERS)) c.header(name, value);
  return stream(c, async (sse) => {
    let gone = false;
    sse.onAbort(() => {
      gone = true;
    });
    await pump((text) => sse.write(text).then(() => undefined), () => gone);
  });
}

/** Writes `text`; when the socket's buffer is full, resolves once it drained or the client left. */
function writeToSocket(socket: ServerResponse, text: string, gone: () => boolean): Promise<void> {
  if (socket.write(text) || gone()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}

/** Mounts the JSON-RPC endpoint (v1.0, plus v0.3 when `legacyCompat`) at `path`. */
export function mountJsonRpc(app: Hono<ServiceEnv>, path: string, deps: TransportDeps): void {
  const handlers = new WeakMap<A2ARequestHandler, { v1: JsonRpcTransportHandler; legacy: LegacyJsonRpcTransportHandler }>();
  const transportsFor = (handler: A2ARequestHandler) => {
    let entry = handlers.get(handler);
    if (entry === undefined) {
      entry = { v1: new JsonRpcTransportHandler(handler), legacy: new LegacyJsonRpcTransportHandler(handler) };
      handlers.set(handler, entry);
    }
    return entry;
  };

  const handle = async (c: Context<ServiceEnv>): Promise<Response> => {
    const handler = deps.handler();
    if (handler === undefined) return c.json(jsonRpcError(null, A2A_ERROR_CODE.INTERNAL_ERROR, 'Agent service is not started'), 503);
    const requestedVersion = requestedVersionOf(c.req.header(A2A_VERSION_HEADER));
    const useLegacy = deps.legacyCompat && isLegacyVersion(requestedVersion ?? '0.3');
    const mapError = (error: unknown) =>
      useLegacy ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(error) : JsonRpcTransportHandler.mapToJSONRPCError(error);

    const contentType = mediaType(c.req.header('content-type'));
    let body: unknown;
    let parsed = true;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      parsed = false;
    }
    if (contentType !== undefined && contentType !== 'application/json') {
      const error = new ContentTypeNotSupportedError(`Unsupported Content-Type "${contentType}"; expected application/json.`);
      return c.json({ jsonrpc: '2.0', id: rpcEnvelopeId(body), error: mapError(error) });
    }
    if (!parsed) return c.json(jsonRpcError(null, A2A_ERROR_CODE.PARSE_ERROR, 'Invalid JSON payload.'));
    const id = rpcEnvelopeId(body);
    const envelopeProblem = invalidJsonRpcEnvelope(body);
    if (envelopeProblem !== undefined) return c.json(jsonRpcError(id, A2A_ERROR_CODE.INVALID_REQUEST, `Invalid Request: ${envelopeProblem}.`));
    const method = rpcMethod(body) ?? '';
    const paramsProblem = invalidJsonRpcParams(method, (body as Record<string, unknown>)['params']);
    if (paramsProblem !== undefined) {
      return c.json({ jsonrpc: '2.0', id, error: mapError(new RequestMalformedError(`Invalid params: ${paramsProblem}.`)) });
    }
    if (deps.isDraining() && NEW_TASK_METHODS.has(method)) {
      c.header('Retry-After', '1');
      return c.json(jsonRpcError(id, A2A_ERROR_CODE.INTERNAL_ERROR, 'Agent is shutting down and accepts no new tasks; retry on another replica.'), 503);
    }
    const extensionsHeader = useLegacy ? (c.req.header(LEGACY_HTTP_EXTENSION_HEADER) ?? c.req.header(HTTP_EXTENSION_HEADER)) : c.req.header(HTTP_EXTENSION_HEADER);
    const context = defaultServerCallContextBuilder({
      extensions: Extensions.parseServiceParameter(extensionsHeader),
      user: userOf(c),
      headers: c.req.header(),
      requestedVersion,
    });
    try {
      validateVersion(context.requestedVersion, await handler.getAgentCard(), 'JSONRPC');
      const transports = transportsFor(handler);
      const result = await (useLegacy ? transports.legacy.handle(body as Record<string, unknown>, context) : transports.v1.handle(body as Record<string, unknown>, context));
      setExtensionsHeader(c, context, useLegacy ? LEGACY_HTTP_EXTENSION_HEADER : HTTP_EXTENSION_HEADER);
      if (!isAsyncIterable<unknown>(result)) return c.json(result);
      const iterator = result[Symbol.asyncIterator]();
      let first: IteratorResult<unknown>;
      try {
        first = await iterator.next();
      } catch (error) {
        return c.json({ jsonrpc: '2.0', id, error: mapError(error) });
      }
      return sseResponse(c, iterator, first, (event) => event, (error) => ({ jsonrpc: '2.0', id, error: mapError(error) }), deps.logger);
    } catch (error) {
      const mapped = mapError(error);
      if (mapped.code === A2A_ERROR_CODE.INTERNAL_ERROR) deps.logger.error({ err: error }, 'JSON-RPC request failed');
      return c.json({ jsonrpc: '2.0', id, error: mapped.code === A2A_ERROR_CODE.INTERNAL_ERROR ? { code: mapped.code, message: 'Internal error' } : mapped });
    }
  };
  for (const route of withTrailingSlash(path)) {
    app.post(route, handle);
    // Any other method is refused in the endpoint's own format (see `renderA2AError`).
    app.all(route, (c) => {
      c.header('Allow', 'POST');
      throw new EnsembleError(ErrorCode.InvalidRequest, `Method ${c.req.method} is not allowed: the JSON-RPC endpoint accepts POST only`, { status: 405 });
    });
  }
}

/**
 * `path` and `path/`. Clients build endpoint URLs both ways (the A2A TCK posts to the card's JSON-RPC
 * URL plus `/`, as the SDK's Express server allows), and Hono's strict routing tells them apart; the
 * rest of the service keeps strict routing, so the A2A routes list both.
 */
export function withTrailingSlash(path: string): [string, string] {
  const bare = path.replace(/\/+$/, '');
  return [bare, `${bare}/`];
}

function setExtensionsHeader(c: Context, context: ServerCallContext, header: string): void {
  const activated = context.activatedExtensions;
  if (activated !== undefined && activated.length > 0) c.header(header, activated.join(','));
}

interface RestRoute {
  tenant: string;
  action: 'send' | 'stream' | 'get' | 'cancel' | 'subscribe' | 'list' | 'extendedCard' | 'push';
  taskId: string;
  /** `push` only: the config id of `/tasks/{id}/pushNotificationConfigs/{configId}` ('' for the collection). */
  configId?: string;
  /** `push` only: the HTTP method, which picks create / list / get / delete. */
  method?: string;
}

const TOP_LEVEL = new Set(['message:send', 'message:stream', 'tasks', 'extendedAgentCard']);

/** Matches `[/{tenant}]/message:send`, `/tasks/{id}:cancel`, ... (the v1.0 HTTP+JSON paths). */
export function matchRestRoute(method: string, subPath: string): RestRoute | undefined {
  let segments = subPath.split('/').filter((segment) => segment !== '').map((segment) => decodeURIComponent(segment));
  let tenant = '';
  if (segments.length > 1 && !TOP_LEVEL.has(segments[0]!) && !segments[0]!.startsWith('tasks')) {
    tenant = segments[0]!;
    segments = segments.slice(1);
  }
  const [head, second, third] = segments;
  if (segments.length === 1 && method === 'POST' && head === 'message:send') return { tenant, action: 'send', taskId: '' };
  if (segments.length === 1 && method === 'POST' && head === 'message:stream') return { tenant, action: 'stream', taskId: '' };
  if (segments.length === 1 && method === 'GET' && head === 'extendedAgentCard') return { tenant, action: 'extendedCard', taskId: '' };
  if (segments.length === 1 && method === 'GET' && head === 'tasks') return { tenant, action: 'list', taskId: '' };
  if (head !== 'tasks' || second === undefined) return undefined;
  if (third === 'pushNotificationConfigs') {
    const configId = segments[3] ?? '';
    const allowed = configId === '' ? method === 'POST' || method === 'GET' : method === 'GET' || method === 'DELETE';
    return segments.length <= 4 && allowed ? { tenant, action: 'push', taskId: second, configId, method } : undefined;
  }
  if (segments.length !== 2) return undefined;
  const colon = second.lastIndexOf(':');
  const verb = colon === -1 ? '' : second.slice(colon + 1);
  const taskId = colon === -1 ? second : second.slice(0, colon);
  if (verb === '' && method === 'GET') return { tenant, action: 'get', taskId: second };
  if (verb === 'cancel' && method === 'POST') return { tenant, action: 'cancel', taskId };
  if (verb === 'subscribe' && (method === 'POST' || method === 'GET')) return { tenant, action: 'subscribe', taskId };
  return undefined;
}

/**
 * HTTP status of an A2A error on the HTTP+JSON binding. The spec's mapping table (§5.4) gives
 * TaskNotCancelableError 409 and ContentTypeNotSupportedError 415, where the SDK answers 400 for both;
 * the A2A TCK checks the spec's codes. Everything else follows the SDK.
 */
export function restStatusFor(error: unknown): number {
  if (error instanceof A2AError) {
    if (error.name === 'TaskNotCancelableError') return 409;
    if (error.name === 'ContentTypeNotSupportedError') return 415;
  }
  return sdkRestStatusFor(error);
}

function restError(c: Context, error: unknown, logger: Logger): Response {
  const status = restStatusFor(error);
  if (status >= 500) logger.error({ err: error }, 'HTTP+JSON request failed');
  // Unexpected errors are logged above and answered without their internals.
  const body = status >= 500 ? { error: { code: status, status: 'INTERNAL', message: 'Internal error', details: [] } } : toRestErrorBody(error, status);
  return c.body(JSON.stringify(body), status as ContentfulStatusCode, { 'Content-Type': A2A_CONTENT_TYPE });
}

function restJson(c: Context, body: unknown): Response {
  return c.body(JSON.stringify(body), 200, { 'Content-Type': A2A_CONTENT_TYPE });
}

function optionalInt(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new RequestMalformedError(`${name} must be an integer between ${min} and ${max}`);
  return parsed;
}

/** Mounts the v1.0 HTTP+JSON (REST) binding under `basePath`. */
export function mountRest(app: Hono<ServiceEnv>, basePath: string, deps: TransportDeps): void {
  app.all(`${basePath}/*`, async (c) => {
    const handler = deps.handler();
    if (handler === undefined) return restError(c, new Error('Agent service is not started'), deps.logger);
    const route = matchRestRoute(c.req.method, c.req.path.slice(basePath.length));
    if (route === undefined) {
      const body = { error: { code: 404, status: 'NOT_FOUND', message: `No A2A HTTP+JSON route for ${c.req.method} ${c.req.path}`, details: [] } };
      return c.body(JSON.stringify(body), 404, { 'Content-Type': A2A_CONTENT_TYPE });
    }
    try {
      if (deps.isDraining() && (route.action === 'send' || route.action === 'stream')) {
        c.header('Retry-After', '1');
        const body = { error: { code: 503, status: 'UNAVAILABLE', message: 'Agent is shutting down and accepts no new tasks; retry on another replica.', details: [] } };
        return c.body(JSON.stringify(body), 503, { 'Content-Type': A2A_CONTENT_TYPE });
      }
      const requestedVersion = requestedVersionOf(c.req.header(A2A_VERSION_HEADER));
      const context = defaultServerCallContextBuilder({
        extensions: Extensions.parseServiceParameter(c.req.header(HTTP_EXTENSION_HEADER)),
        user: userOf(c),
        headers: c.req.header(),
        requestedVersion,
        tenant: route.tenant === '' ? undefined : route.tenant,
      });
      validateVersion(context.requestedVersion, await handler.getAgentCard(), 'HTTP+JSON');
      const body = c.req.method === 'POST' ? await readRestBody(c) : {};
      const response = await dispatchRest(c, handler, route, context, body, deps);
      setExtensionsHeader(c, context, HTTP_EXTENSION_HEADER);
      return response;
    } catch (error) {
      return restError(c, error, deps.logger);
    }
  });
}

async function readRestBody(c: Context): Promise<Record<string, unknown>> {
  const contentType = mediaType(c.req.header('content-type'));
  const text = await c.req.text();
  if (text.trim() === '') return {};
  if (contentType !== undefined && contentType !== 'application/json' && contentType !== A2A_CONTENT_TYPE) {
    throw new ContentTypeNotSupportedError(`Unsupported Content-Type "${contentType}"; expected application/json or ${A2A_CONTENT_TYPE}.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RequestMalformedError('Invalid JSON payload.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RequestMalformedError('Request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

async function dispatchRest(
  c: Context<ServiceEnv>,
  handler: A2ARequestHandler,
  route: RestRoute,
  context: ServerCallContext,
  body: Record<string, unknown>,
  deps: TransportDeps,
): Promise<Response> {
  const query = (name: string) => c.req.query(name);
  switch (route.action) {
    case 'send':
    case 'stream': {
      const request = SendMessageRequest.fromJSON({ ...body, tenant: route.tenant });
      if (request.message === undefined) throw new RequestMalformedError('message is required');
      if (request.message.messageId === '') throw new RequestMalformedError('message.messageId is required');
      if (route.action === 'send') {
        const result = await handler.sendMessage(request, context);
        return restJson(c, SendMessageResponse.toJSON({ payload: 'messageId' in result ? { $case: 'message', value: result } : { $case: 'task', value: result } }));
      }
      return restStream(c, handler.sendMessageStream(request, context), deps);
    }
    case 'get': {
      const task = await handler.getTask({ tenant: route.tenant, id: route.taskId, historyLength: optionalInt(query('historyLength'), 'historyLength', 0, 1_000_000) }, context);
      return restJson(c, Task.toJSON(task));
    }
    case 'cancel': {
      const metadata = typeof body['metadata'] === 'object' && body['metadata'] !== null ? (body['metadata'] as Record<string, unknown>) : {};
      const task = await handler.cancelTask({ tenant: route.tenant, id: route.taskId, metadata }, context);
      return restJson(c, Task.toJSON(task));
    }
    case 'subscribe':
      return restStream(c, handler.resubscribe({ tenant: route.tenant, id: route.taskId }, context), deps);
    case 'list': {
      const status = query('status');
      const includeArtifacts = query('includeArtifacts') === 'true';
      const result = await handler.listTasks(
        {
          tenant: route.tenant,
          contextId: query('contextId') ?? '',
          status: status === undefined || status === '' ? TaskState.TASK_STATE_UNSPECIFIED : taskStateFromJSON(/^\d+$/.test(status) ? Number(status) : status),
          pageSize: optionalInt(query('pageSize'), 'pageSize', 1, 100),
          pageToken: query('pageToken') ?? '',
          historyLength: optionalInt(query('historyLength'), 'historyLength', 0, 1_000_000),
          statusTimestampAfter: query('statusTimestampAfter') || undefined,
          includeArtifacts,
        },
        context,
      );
      const json = ListTasksResponse.toJSON(result) as { tasks?: unknown[] };
      return restJson(c, { nextPageToken: '', pageSize: 0, totalSize: 0, ...json, tasks: json.tasks ?? [] });
    }
    case 'extendedCard':
      return restJson(c, AgentCard.toJSON(await handler.getAuthenticatedExtendedAgentCard({ tenant: route.tenant }, context)));
    case 'push': {
      const { taskId, tenant } = route;
      const configId = route.configId ?? '';
      if (route.method === 'POST') {
        const created = await handler.createTaskPushNotificationConfig(TaskPushNotificationConfig.fromJSON({ ...body, taskId, tenant }), context);
        return c.body(JSON.stringify(TaskPushNotificationConfig.toJSON(created)), 201, { 'Content-Type': A2A_CONTENT_TYPE });
      }
      if (configId === '') {
        const listed = await handler.listTaskPushNotificationConfigs({ tenant, taskId, pageSize: 0, pageToken: '' }, context);
        return restJson(c, ListTaskPushNotificationConfigsResponse.toJSON(listed));
      }
      if (route.method === 'DELETE') {
        await handler.deleteTaskPushNotificationConfig({ tenant, taskId, id: configId }, context);
        return c.body(null, 204);
      }
      return restJson(c, TaskPushNotificationConfig.toJSON(await handler.getTaskPushNotificationConfig({ tenant, taskId, id: configId }, context)));
    }
  }
}

async function restStream(c: Context<ServiceEnv>, events: AsyncGenerator<StreamResponse, void, undefined>, deps: TransportDeps): Promise<Response> {
  const iterator = events[Symbol.asyncIterator]();
  // The first event is awaited before answering, so setup errors become a proper HTTP error response.
  const first = await iterator.next();
  return sseResponse(
    c,
    iterator,
    first,
    (event) => StreamResponse.toJSON(event),
    (error) => toRestErrorBody(error, restStatusFor(error)),
    deps.logger,
  );
}
