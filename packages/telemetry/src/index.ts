export { addLogContext, currentLogContext, withLogContext } from './log-context.js';
export type { LogContext } from './log-context.js';
export { createLogger } from './logger.js';
export type { Logger, LoggerConfig } from './logger.js';
export {
  InMemorySpanExporter,
  OTLP_PROTOCOLS,
  SpanKind,
  SpanStatusCode,
  context,
  createOtlpExporter,
  extractTraceContext,
  getTracer,
  inSpan,
  injectTraceContext,
  recordError,
  startTelemetry,
  trace,
} from './tracing.js';
export type { Attributes, OtlpProtocol, Span, Telemetry, TelemetryConfig } from './tracing.js';
export {
  agentSpanAttributes,
  chainSpanAttributes,
  llmRequestAttributes,
  llmResponseAttributes,
  outputAttributes,
  toolSpanAttributes,
} from './openinference.js';
