import { trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

import { currentLogContext } from './log-context.js';

export type { Logger } from 'pino';

export interface LoggerConfig {
  service: string;
  level?: LoggerOptions['level'];
  /** Where lines go; stdout when omitted. Tests pass a stream to read lines back. */
  destination?: DestinationStream;
  /**
   * Stdout only: lines are gathered and written together when 4 KiB are pending or this many ms have
   * passed, instead of one write per line (a service that logs a line per request spends a system call
   * on each). Everything pending is written on exit; a hard kill loses at most this window. 0 or unset:
   * every line is written at once (see `stdoutNow`).
   */
  flushIntervalMs?: number;
}

/**
 * Stdout, each line written by this thread as it is logged: pino's synchronous destination, the way Node
 * writes its own stdout to a pipe or a file on Linux. pino's default destination hands every line to
 * libuv's thread pool instead, and a hand-off and a wake-up for a write of a few hundred bytes cost more
 * than the write: in a micro-benchmark of an agent's request (four lines over two turns of the event
 * loop), ~8 context switches and 280-290 µs of CPU against ~2 and 125-160 µs. On a loaded machine each of
 * those switches takes a core from another process. A line is written when `log()` returns: a crash
 * loses none.
 */
function stdoutNow(): DestinationStream {
  return pino.destination({ dest: process.stdout.fd, sync: true });
}

/** Buffered stdout (see `flushIntervalMs`): pino's own destination, flushed on a timer and on exit. */
function bufferedStdout(flushIntervalMs: number): DestinationStream {
  const destination = pino.destination({ dest: process.stdout.fd, minLength: 4096, sync: false });
  setInterval(() => destination.flush(), flushIntervalMs).unref();
  return destination;
}

/**
 * JSON logs, one object per line, with the service name, the correlation ids of the current scope
 * (see `withLogContext`) and the active trace/span id, so a line can be found from a trace and back.
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { service: config.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // pino adds the line's own fields to this object: it is made with `Object.assign`, not spread (see
    // "Hot paths" in docs/conventions.md), or every line would get a hidden class of its own.
    mixin() {
      const fields: Record<string, unknown> = Object.assign({}, currentLogContext());
      const spanContext = trace.getActiveSpan()?.spanContext();
      if (spanContext !== undefined) {
        fields['trace_id'] = spanContext.traceId;
        fields['span_id'] = spanContext.spanId;
      }
      return fields;
    },
  };
  if (config.destination !== undefined) return pino(options, config.destination);
  if (config.flushIntervalMs !== undefined && config.flushIntervalMs > 0) return pino(options, bufferedStdout(config.flushIntervalMs));
  return pino(options, stdoutNow());
}
