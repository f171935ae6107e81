import { trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

import { currentLogContext } from './log-context.js';

export type { Logger } from 'pino';

export interface LoggerConfig {
  service: string;
  level?: LoggerOptions['level'];
  /** Where lines go; stdout when omitted. Tests pass a stream to read lines back. */
  destination?: DestinationStream;
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
    mixin() {
      const span = trace.getActiveSpan();
      const spanContext = span?.spanContext();
      return {
        ...currentLogContext(),
        ...(spanContext === undefined ? {} : { trace_id: spanContext.traceId, span_id: spanContext.spanId }),
      };
    },
  };
  return config.destination === undefined ? pino(options) : pino(options, config.destination);
}
