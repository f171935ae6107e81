import { randomUUID } from 'node:crypto';

import {
  type Logger,
  type Span,
  SpanKind,
  SpanStatusCode,
  context,
  extractTraceContext,
  getTracer,
  trace,
  withLogContext,
} from '@ensemble/telemetry';

/**
 * What every Ensemble service records of one HTTP request: its id, a server span continuing the caller's
 * W3C trace, and one access-log line. `createHttpApp`'s middleware keeps one per request; a `NodeLane`
 * (a hot path served before the framework) keeps its own, so both write the same span and line.
 */
export interface RequestRecord {
  /** The caller's valid `X-Request-ID`, or a generated one: echo it on the response. */
  readonly requestId: string;
  readonly span: Span;
  /** Fields a route adds to the access-log line (the gateway's routing decision, a session id). */
  readonly accessLog: Record<string, unknown>;
  /** Runs `fn` with the server span active and `request_id` on every log line, as the request's work runs. */
  run<T>(fn: () => T): T;
  /**
   * Ends the span and writes the access-log line, once (later calls do nothing). `streamed` marks a
   * response that outlived its handler: the line's duration is then the stream's.
   */
  finish(status: number, streamed: boolean): void;
}

export interface RequestRecordOptions {
  logger: Logger;
  method: string;
  path: string;
  /** Reads one request header (W3C trace context, `X-Request-ID`). */
  header(name: string): string | undefined;
  /** Health probes: their line is written at debug level. */
  quiet?: boolean;
}

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;
const tracer = getTracer('ensemble-http');

export function startRequestRecord(options: RequestRecordOptions): RequestRecord {
  const { logger, method, path } = options;
  const incoming = options.header('x-request-id');
  const requestId = incoming !== undefined && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
  const started = performance.now();
  // Only the propagation headers are read (not a record of every header).
  const parentContext = extractTraceContext(options);
  const span = tracer.startSpan(
    `${method} ${path}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path, 'request.id': requestId } },
    parentContext,
  );
  const spanContext = trace.setSpan(parentContext, span);
  const logContext = { request_id: requestId };
  const accessLog: Record<string, unknown> = {};
  const run = <T>(fn: () => T): T => context.with(spanContext, () => withLogContext(logContext, fn));
  let finished = false;
  return {
    requestId,
    span,
    accessLog,
    run,
    finish(status, streamed) {
      if (finished) return;
      finished = true;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      // The line's fields are built only at a level that writes it.
      const level = options.quiet === true ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      // Merged with `Object.assign`, not spread: see "Hot paths" in docs/conventions.md.
      const line = Object.assign({ method, path, status, duration_ms: roundMs(performance.now() - started) }, streamed ? { streamed } : undefined, accessLog);
      const write = () => logger[level](line, 'request');
      // Most requests finish inside their own scope; a stream ends outside it (a socket's `close`), and
      // the line gets the request's ids and trace from `run`.
      if (trace.getActiveSpan() === span) write();
      else run(write);
    },
  };
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
