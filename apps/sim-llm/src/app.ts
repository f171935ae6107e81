import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';

import { ChatCompletionRequest, EmbeddingRequest, EnsembleError, ErrorCode } from '@ensemble/protocol';
import { SSE_HEADERS, type ServiceEnv, createHttpApp, mountReadiness, readJsonBody } from '@ensemble/service';
import { type Logger, createLogger } from '@ensemble/telemetry';
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';

import { type SimBehaviour, defaultBehaviours } from './behaviours/index.js';
import { DONE_EVENT, completionBody, planReply, streamEvents } from './completion.js';
import { createEmbeddings } from './embeddings.js';
import { type RecordedRequest, type RequestLog, WaitTimeoutError } from './request-log.js';
import { resolveReply } from './resolve-reply.js';
import { ScriptInput, type SimError, SimDefaults, SimReply } from './sim-reply.js';
import { toSimRequest } from './sim-request.js';
import { SimLlmState } from './state.js';

export interface SimLlmOptions {
  /** Defaults to a `warn`-level logger: in-process test servers stay quiet unless something breaks. */
  logger?: Logger;
  /** Default time to first token for requests that do not set one (ms). */
  ttftMs?: number;
  /** Default pacing after the first token; 0 = unpaced. */
  tokensPerSecond?: number;
  /** Size of the request log (oldest dropped first). Default 1000. */
  maxRecordedRequests?: number;
  /** Replaces the default behaviour registry (`behaviours/index.ts`); the generic fallbacks always follow. */
  behaviours?: readonly SimBehaviour[];
}

/** Model ids listed by `GET /v1/models`. Completions accept any model id and echo it back. */
export const SIM_LLM_MODELS = ['gpt-4o-mini', 'gpt-4o', 'sim-llm'] as const;
const MODELS_CREATED = 1_735_689_600; // 2025-01-01: fixed, so listings are deterministic.

const encoder = new TextEncoder();
const DONE_BYTES = encoder.encode(DONE_EVENT);
/** Status recorded (and logged) for requests whose client left before an answer: nginx's "client closed request". */
const CLIENT_CLOSED = 499;

const WaitQuery = z.object({
  count: z.coerce.number().int().min(1).default(1),
  aborted: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
  timeout_ms: z.coerce.number().int().min(0).max(120_000).default(5000),
});

/**
 * sim-llm: an OpenAI-compatible test double (see README). Returns the Hono app and its state, so tests can
 * serve it in-process (`serveHttp(app, { port: 0, ... })`) and script it directly through `state`.
 */
export function createSimLlmApp(options: SimLlmOptions = {}): { app: Hono<ServiceEnv>; state: SimLlmState } {
  const logger = options.logger ?? createLogger({ service: 'sim-llm', level: 'warn' });
  const behaviours = options.behaviours ?? defaultBehaviours;
  const state = new SimLlmState({
    defaults: { ttftMs: options.ttftMs, tokensPerSecond: options.tokensPerSecond },
    maxRecordedRequests: options.maxRecordedRequests,
  });
  const app = createHttpApp({ logger });

  app.get('/health', (c) => c.json({ status: 'ok', service: 'sim-llm' }));
  // No dependencies: ready whenever it serves (the route exists so every service answers the same probes).
  mountReadiness(app);

  app.get('/v1/models', (c) => c.json({ object: 'list', data: SIM_LLM_MODELS.map(modelObject) }));
  app.get('/v1/models/:id{.+}', (c) => {
    const id = c.req.param('id');
    if (!(SIM_LLM_MODELS as readonly string[]).includes(id)) {
      throw new EnsembleError(ErrorCode.NotFound, `The model '${id}' does not exist`, { details: { param: 'model' }, wireCode: 'model_not_found' });
    }
    return c.json(modelObject(id));
  });

  app.post('/v1/chat/completions', async (c) => {
    const body = await readJsonBody(c, ChatCompletionRequest);
    const record = state.requests.start(c.req.path, recordedHeaders(c), body);
    try {
      return await chatCompletion(c, body, record, { state, behaviours });
    } catch (error) {
      state.requests.finish(record, { status: error instanceof EnsembleError ? error.status : 500 });
      throw error;
    }
  });

  app.post('/v1/embeddings', async (c) => {
    const body = await readJsonBody(c, EmbeddingRequest);
    const record = state.requests.start(c.req.path, recordedHeaders(c), body);
    try {
      const response = createEmbeddings(body);
      state.requests.finish(record, { status: 200 });
      return c.json(response);
    } catch (error) {
      state.requests.finish(record, { status: error instanceof EnsembleError ? error.status : 500 });
      throw error;
    }
  });

  // Control API, for tests. Plain JSON; errors use the same OpenAI error object as everything else.
  app.post('/_sim/scripts', async (c) => {
    const input = await readJsonBody(c, ScriptInput);
    const id = state.scripts.add(input);
    logger.debug({ script_id: id, match: input.match }, 'script added');
    return c.json({ id }, 201);
  });
  app.get('/_sim/scripts', (c) => c.json({ scripts: state.scripts.list() }));
  app.delete('/_sim/scripts', (c) => {
    state.scripts.clear();
    return c.json({ deleted: true });
  });
  app.delete('/_sim/scripts/:id', (c) => {
    const id = c.req.param('id');
    if (!state.scripts.remove(id)) throw new EnsembleError(ErrorCode.NotFound, `No script with id '${id}'`);
    return c.json({ deleted: true, id });
  });

  app.get('/_sim/config', (c) => c.json(state.defaults));
  app.put('/_sim/config', async (c) => c.json(state.setDefaults(await readJsonBody(c, SimDefaults))));

  app.get('/_sim/requests', (c) => c.json({ requests: state.requests.list() }));
  app.delete('/_sim/requests', (c) => {
    state.requests.clear();
    return c.json({ deleted: true });
  });
  app.get('/_sim/requests/wait', async (c) => waitForRequests(c, state.requests));

  app.post('/_sim/reset', (c) => {
    state.reset();
    return c.json({ reset: true });
  });

  return { app, state };
}

function modelObject(id: string) {
  return { id, object: 'model', created: MODELS_CREATED, owned_by: 'sim-llm' };
}

function recordedHeaders(c: Context): RecordedRequest['headers'] {
  const headers: RecordedRequest['headers'] = {};
  const authorization = c.req.header('authorization');
  const traceparent = c.req.header('traceparent');
  const requestId = c.req.header('x-request-id');
  if (authorization !== undefined) headers.authorization = authorization;
  if (traceparent !== undefined) headers.traceparent = traceparent;
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return headers;
}

function parseSimField(value: unknown): SimReply | undefined {
  if (value === undefined || value === null) return undefined;
  const result = SimReply.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = ['sim', ...(issue?.path ?? []).map(String)].join('.');
  throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid '${param}': ${issue?.message ?? 'does not match the sim-llm reply shape'}`, {
    details: { param },
    wireCode: 'invalid_value',
  });
}

/** Waits `ms` unless the client goes away first; false when it did. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

async function chatCompletion(
  c: Context<ServiceEnv>,
  body: ChatCompletionRequest,
  record: RecordedRequest,
  deps: { state: SimLlmState; behaviours: readonly SimBehaviour[] },
): Promise<Response> {
  const log = deps.state.requests;
  const sim = parseSimField(body['sim']);
  const request = toSimRequest(body);
  if ((body.n ?? 1) > 1) {
    throw new EnsembleError(ErrorCode.InvalidRequest, "sim-llm answers one choice per request: 'n' must be 1", { details: { param: 'n' }, wireCode: 'unsupported_value' });
  }
  const { reply, source } = resolveReply(request, sim, deps.state.scripts, deps.behaviours, deps.state.defaults);
  record.replySource = source;

  // The client leaving at any point before the end is what tests assert on ("the upstream saw the abort").
  const signal = c.req.raw.signal;
  signal.addEventListener('abort', () => log.finish(record, { aborted: true }), { once: true });
  const clientGone = () => {
    log.finish(record, { aborted: true });
    return new Response(null, { status: CLIENT_CLOSED });
  };

  if (!(await pause(reply.delayMs ?? 0, signal))) return clientGone();
  if (reply.hang === true) {
    await untilAborted(signal);
    return clientGone();
  }
  if (reply.error !== undefined) {
    log.finish(record, { status: reply.error.status });
    return errorReply(c, reply.error);
  }

  const plan = planReply(request, reply);
  record.usage = plan.usage;
  const ttftMs = reply.ttftMs ?? 0;
  const intervalMs = (reply.tokensPerSecond ?? 0) > 0 ? 1000 / (reply.tokensPerSecond ?? 1) : 0;

  if (body.stream !== true) {
    // A non-streamed reply takes as long as streaming it would have.
    if (!(await pause(ttftMs + intervalMs * Math.max(0, plan.pieces - 1), signal))) return clientGone();
    const payload = JSON.stringify(completionBody(plan));
    if (reply.cutAfterChunks !== undefined) {
      record.status = 200;
      // Half a JSON body, then the connection drops: what a crashed upstream looks like.
      return c.body(cutStream([payload.slice(0, Math.floor(payload.length / 2))], 1, () => log.finish(record, { cut: true })), 200, {
        'content-type': 'application/json',
      });
    }
    log.finish(record, { status: 200 });
    return c.body(payload, 200, { 'content-type': 'application/json' });
  }

  const events = streamEvents(plan, body.stream_options?.include_usage === true);
  record.status = 200;
  if (reply.cutAfterChunks !== undefined) {
    const limit = Math.min(reply.cutAfterChunks, events.length);
    return c.body(pacedStream(events, limit, ttftMs, intervalMs, signal, () => log.finish(record, { cut: true })), 200, SSE_HEADERS);
  }
  if (ttftMs === 0 && intervalMs === 0) {
    // Unpaced: one write for the whole stream, the cheapest thing benchmarks can measure against.
    log.finish(record, { status: 200 });
    return c.body(events.join('') + DONE_EVENT, 200, SSE_HEADERS);
  }
  return c.body(
    pacedStream(events, undefined, ttftMs, intervalMs, signal, () => log.finish(record, { status: 200 })),
    200,
    SSE_HEADERS,
  );
}

/**
 * Streams `events` one per pull (so pacing is real back-pressure, not a queue), waiting `ttftMs` before the
 * first and `intervalMs` between the others. With `cutAfter`, the connection is destroyed after that many
 * events instead of sending `[DONE]`.
 */
function pacedStream(
  events: readonly string[],
  cutAfter: number | undefined,
  ttftMs: number,
  intervalMs: number,
  signal: AbortSignal,
  onEnd: () => void,
): ReadableStream<Uint8Array> {
  const limit = cutAfter ?? events.length;
  let index = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        if (index >= limit) {
          onEnd();
          if (cutAfter === undefined) {
            controller.enqueue(DONE_BYTES);
            controller.close();
          } else {
            await cutConnection(controller);
          }
          return;
        }
        if (!(await pause(index === 0 ? ttftMs : intervalMs, signal))) {
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(events[index] ?? ''));
        index += 1;
      },
    },
    { highWaterMark: 0 },
  );
}

/** Sends `parts` then destroys the connection. */
function cutStream(parts: readonly string[], limit: number, onCut: () => void): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        if (index < Math.min(limit, parts.length)) {
          controller.enqueue(encoder.encode(parts[index] ?? ''));
          index += 1;
          return;
        }
        onCut();
        await cutConnection(controller);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Erroring the response body makes @hono/node-server destroy the socket mid-body: the client sees the
 * connection drop with no `[DONE]`. One turn of the event loop first, so the chunks already handed to
 * the socket are flushed rather than discarded.
 */
async function cutConnection(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
  await nextTurn();
  const error = Object.assign(new Error('sim-llm cut the connection (cutAfterChunks)'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  controller.error(error);
}

function errorReply(c: Context, error: SimError): Response {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) {
    // `retry-after` must be whole seconds; the openai SDK prefers the precise `retry-after-ms` when present.
    headers['retry-after'] = String(Math.ceil(error.retryAfterSeconds));
    headers['retry-after-ms'] = String(Math.round(error.retryAfterSeconds * 1000));
  }
  const fallback = defaultError(error.status);
  const body = {
    error: {
      message: error.message ?? `sim-llm injected fault: HTTP ${error.status}`,
      type: error.type ?? fallback.type,
      param: null,
      code: error.code ?? fallback.code,
    },
  };
  return c.json(body, error.status as ContentfulStatusCode, headers);
}

function defaultError(status: number): { type: string; code: string | null } {
  if (status === 401) return { type: 'authentication_error', code: 'invalid_api_key' };
  if (status === 403) return { type: 'permission_error', code: null };
  if (status === 404) return { type: 'not_found_error', code: null };
  if (status === 429) return { type: 'rate_limit_error', code: 'rate_limit_exceeded' };
  if (status >= 500) return { type: 'server_error', code: null };
  return { type: 'invalid_request_error', code: null };
}

async function waitForRequests(c: Context, log: RequestLog): Promise<Response> {
  const parsed = WaitQuery.safeParse(c.req.query());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.map(String).join('.') ?? null;
    throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid query parameter '${param ?? ''}': ${issue?.message ?? 'bad value'}`, { details: { param } });
  }
  const { count, aborted, timeout_ms: timeoutMs } = parsed.data;
  const signal = c.req.raw.signal;
  try {
    const requests = await log.waitFor({ count, timeoutMs, signal, ...(aborted === undefined ? {} : { aborted }) });
    return c.json({ requests });
  } catch (error) {
    if (error instanceof WaitTimeoutError) {
      throw new EnsembleError(ErrorCode.UpstreamTimeout, error.message, { status: 408, wireCode: 'wait_timeout' });
    }
    if (error instanceof RangeError) throw new EnsembleError(ErrorCode.InvalidRequest, error.message, { details: { param: 'count' } });
    // The long-polling client left: nobody reads the answer.
    return new Response(null, { status: CLIENT_CLOSED });
  }
}
