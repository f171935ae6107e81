import type { ServerResponse } from 'node:http';

import { EnsembleError, ErrorCode, toEnsembleError, toOpenAIErrorBody } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';
import type { HttpBindings } from '@hono/node-server';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';

import { startRequestRecord } from './request-record.js';

/** Per-request values every Ensemble service can read from `c.var`. */
export interface ServiceVariables {
  requestId: string;
  logger: Logger;
  /** Stable identity of the caller's bearer token (see `bearerAuth`); `anonymous` without auth. */
  principal: string;
  /**
   * Fields a route adds to the request's access-log line (the gateway's routing decision): one line per
   * request says what happened to it, instead of a second line per request on the hot path.
   */
  accessLog: Record<string, unknown>;
}
export interface ServiceEnv {
  Variables: ServiceVariables;
}

/** The largest request body a service accepts unless configured otherwise. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface HttpAppOptions {
  logger: Logger;
  /** Largest accepted request body; bigger bodies get a 413 in the error format. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Paths that are not access-logged at info level (health probes). */
  quietPaths?: readonly string[];
  /**
   * Renders the errors of routes that speak another wire format (an A2A agent's JSON-RPC and HTTP+JSON
   * endpoints): called for every error and every unmatched route, including the body limit's 413. It
   * returns the response, or `undefined` for the default OpenAI error object.
   */
  renderError?: (c: Context<ServiceEnv>, error: EnsembleError) => Response | undefined;
}

/**
 * A Hono app with what every Ensemble HTTP service needs: request ids (accepted from `X-Request-ID` or
 * generated, echoed back), a server span continuing the caller's W3C trace, correlation ids on every log
 * line, an access log, a body size limit, and errors rendered as OpenAI error objects without stack traces.
 */
export function createHttpApp(options: HttpAppOptions): Hono<ServiceEnv> {
  const app = new Hono<ServiceEnv>();
  const quietPaths = new Set(options.quietPaths ?? ['/health', '/ready']);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  app.use('*', async (c, next) => {
    const record = startRequestRecord({ logger: options.logger, method: c.req.method, path: c.req.path, header: (name) => c.req.header(name), quiet: quietPaths.has(c.req.path) });
    c.set('requestId', record.requestId);
    c.set('principal', 'anonymous');
    c.set('accessLog', record.accessLog);
    c.set('logger', options.logger);
    c.header('X-Request-ID', record.requestId);
    await record.run(async () => {
      const outgoing = nodeResponseOf(c);
      // A response written straight to the socket (`writeNodeStreamHead`) has its status there.
      const status = () => (isWrittenDirectly(c.res) && outgoing !== undefined ? outgoing.statusCode : c.res.status);
      try {
        await next();
      } catch (error) {
        record.finish(status(), false);
        throw error;
      }
      // Check the content type before touching `body`: reading `body` turns @hono/node-server's
      // lightweight Response into a real one, which changes how the server writes it.
      const direct = isWrittenDirectly(c.res);
      const body = !direct && isEventStream(c.res) ? c.res.body : null;
      if (!direct && body === null) {
        record.finish(status(), false);
        return;
      }
      // A streamed response outlives the handler: the span and the access-log line end with the stream
      // (completed, failed or cancelled by the client), so their duration is the stream's. On a real
      // server the socket's `close` says so at no cost per chunk; in-process (`app.request`) the body is
      // watched instead.
      if (outgoing !== undefined) {
        outgoing.once('close', () => record.finish(status(), true));
        return;
      }
      if (body === null) return;
      const finalStatus = c.res.status;
      c.res = new Response(
        watchStream(body, () => record.finish(finalStatus, true)),
        c.res,
      );
    });
  });

  app.use('*', limitBodySize(maxBodyBytes));

  const render = (c: Context<ServiceEnv>, error: EnsembleError) => options.renderError?.(c, error) ?? errorResponse(c, error);
  app.notFound((c) => render(c, new EnsembleError(ErrorCode.NotFound, `No route for ${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => {
    const ensembleError =
      error instanceof HTTPException
        ? new EnsembleError(error.status === 413 ? ErrorCode.PayloadTooLarge : ErrorCode.InvalidRequest, error.message, { status: error.status })
        : error instanceof URIError
          ? // A path parameter with broken percent-encoding (`/tasks/%zz`): the client's URL, not our fault.
            new EnsembleError(ErrorCode.InvalidRequest, 'The request URL has malformed percent-encoding', { cause: error, wireCode: 'invalid_url' })
          : toEnsembleError(error);
    if (ensembleError.status >= 500) {
      options.logger.error({ err: error, code: ensembleError.code }, 'request failed');
    } else {
      options.logger.info({ code: ensembleError.code, message: ensembleError.message }, 'request rejected');
    }
    return render(c, ensembleError);
  });
  return app;
}

/**
 * 413 for bodies over `maxBytes`. A declared `Content-Length` is judged from the header alone: hono's
 * `bodyLimit` reads `c.req.raw` to look at it, which makes @hono/node-server build a WHATWG `Request`
 * with a web-stream body for every request and takes away its direct body read (about a tenth of the
 * gateway's CPU per request). Only bodies of unknown length (chunked) go through `bodyLimit`, which
 * counts the bytes as they arrive.
 */
function limitBodySize(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => {
    throw new EnsembleError(ErrorCode.PayloadTooLarge, `Request body is larger than ${maxBytes} bytes`);
  };
  const counting = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared === undefined || c.req.header('transfer-encoding') !== undefined) return counting(c, next);
    if (Number(declared) > maxBytes) tooLarge();
    return next();
  };
}

function nodeResponseOf(c: { env: unknown }): ServerResponse | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.outgoing;
}

/** The marker response a handler returns after writing to the socket itself (see `writeNodeStreamHead`). */
function isWrittenDirectly(response: Response): boolean {
  return response.headers.has(ALREADY_SENT_HEADER);
}

const ALREADY_SENT_HEADER = 'x-hono-already-sent';

/**
 * For streams on the hot path (the gateway's relay, A2A event streams): starts the response on Node's
 * socket itself, with `status`, `headers` and every header the app set so far (request id, routing
 * decision, ...), and returns the socket's `ServerResponse` to write the body to, or `undefined` when
 * the app runs in-process (`app.request`, no socket): build a `Response` then. The handler must return
 * `NODE_STREAM_RESPONSE` after a successful call. Why: a web `ReadableStream` body costs two WHATWG
 * stream layers per chunk (the body and @hono/node-server's reader loop) on top of the socket write.
 * The access log and the server span still end when the socket closes.
 */
export function writeNodeStreamHead(
  c: { env: unknown; newResponse(body: null): Response },
  status: number,
  headers: Readonly<Record<string, string>>,
): ServerResponse | undefined {
  const outgoing = nodeResponseOf(c);
  if (outgoing === undefined) return undefined;
  const head: Record<string, string> = {};
  // The headers set so far, read from a throwaway response: reading `c.res` would make Hono copy the
  // marker response the handler returns into one @hono/node-server writes out again.
  c.newResponse(null).headers.forEach((value, name) => {
    head[name] = value;
  });
  for (const [name, value] of Object.entries(headers)) head[name.toLowerCase()] = value;
  // Sent with the first body write (one packet, one wake-up of the client); a caller whose first bytes
  // may be a while calls `flushHeaders()` itself.
  outgoing.writeHead(status, head);
  return outgoing;
}

/**
 * What a handler returns, as it is, once `writeNodeStreamHead` started the response (@hono/node-server's
 * marker; one shared object, so no middleware may set headers on it afterwards).
 */
export { RESPONSE_ALREADY_SENT as NODE_STREAM_RESPONSE } from '@hono/node-server/utils/response';

function isEventStream(response: Response): boolean {
  return response.headers.get('content-type')?.startsWith('text/event-stream') === true;
}

/** The same bytes, with `onEnd` called once the stream completes, fails or is cancelled. */
function watchStream(body: ReadableStream<Uint8Array>, onEnd: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          onEnd();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        onEnd();
        controller.error(error);
      }
    },
    cancel(reason) {
      onEnd();
      return reader.cancel(reason);
    },
  });
}

/** Renders an error as an OpenAI error object with the error's status. */
export function errorResponse(c: Context, error: EnsembleError): Response {
  if (error.code === ErrorCode.RateLimited && typeof error.details?.['retryAfter'] === 'string') {
    c.header('Retry-After', error.details['retryAfter']);
  }
  return c.json(toOpenAIErrorBody(error), error.status as ContentfulStatusCode);
}

/**
 * Reads and validates a JSON body. Bad JSON, a non-object, or a schema mismatch all become a 400
 * `invalid_request` whose message names the first offending field (and `param` carries its path).
 */
export async function readJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new EnsembleError(ErrorCode.InvalidRequest, 'Request body is not valid JSON', { wireCode: 'invalid_json' });
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue === undefined ? null : issue.path.map(String).join('.');
  const where = param === null || param === '' ? 'request body' : `'${param}'`;
  throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid ${where}: ${issue?.message ?? 'does not match the schema'}`, {
    details: { param, issues: result.error.issues.length },
    wireCode: 'invalid_request_body',
  });
}
