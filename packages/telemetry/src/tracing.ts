import { type Attributes, type Context, type Span, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  type InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * The OTLP/HTTP encodings we export (`OTEL_EXPORTER_OTLP_PROTOCOL`). Protobuf is the default because it is
 * the one every receiver takes: Phoenix answers 415 to OTLP JSON. (`grpc` is not offered.)
 */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export interface TelemetryConfig {
  serviceName: string;
  /** OTLP/HTTP base endpoint (Phoenix: http://localhost:6006). Nothing is exported when unset. */
  otlpEndpoint?: string | undefined;
  /** Encoding of the OTLP/HTTP export; `http/protobuf` when unset. */
  otlpProtocol?: OtlpProtocol | undefined;
  /** Extra exporter for tests: spans are kept in memory and can be read back. */
  memoryExporter?: InMemorySpanExporter;
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Starts tracing for one service. W3C trace context is always propagated on outgoing `fetch` (the
 * `openai` SDK and the A2A client both use it) so a trace spans processes even when nothing is exported;
 * spans are recorded only when there is an exporter (or the caller's trace is sampled).
 * Incoming requests get their server span from `@ensemble/service`'s middleware, which keeps us off
 * Node's ESM loader hooks entirely.
 */
export function startTelemetry(config: TelemetryConfig): Telemetry {
  const spanProcessors: SpanProcessor[] = [];
  if (config.otlpEndpoint !== undefined) {
    spanProcessors.push(new BatchSpanProcessor(createOtlpExporter(config.otlpEndpoint, config.otlpProtocol ?? 'http/protobuf')));
  }
  if (config.memoryExporter !== undefined) spanProcessors.push(new SimpleSpanProcessor(config.memoryExporter));

  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    spanProcessors,
    // Nowhere to export: spans this service starts are not recorded (no attributes kept, no processor
    // work, and code that builds attributes behind `span.isRecording()` skips it). They still carry
    // trace and span ids, so `traceparent` goes out and log lines keep their `trace_id`. A caller that
    // sampled its trace keeps it sampled downstream.
    ...(spanProcessors.length === 0 ? { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) } : {}),
  });
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new UndiciInstrumentation()],
  });
  return {
    async shutdown() {
      unregister();
      await provider.shutdown();
    },
  };
}

/** The OTLP/HTTP span exporter for `protocol`, posting to `<endpoint>/v1/traces`. */
export function createOtlpExporter(endpoint: string, protocol: OtlpProtocol): SpanExporter {
  const url = `${endpoint.replace(/\/$/, '')}/v1/traces`;
  switch (protocol) {
    case 'http/protobuf':
      return new OTLPProtobufTraceExporter({ url });
    case 'http/json':
      return new OTLPJsonTraceExporter({ url });
    default:
      // Configs validate the variable against OTLP_PROTOCOLS; this catches a caller that did not.
      throw new TypeError(`unsupported OTLP protocol "${String(protocol)}" (expected ${OTLP_PROTOCOLS.join(' or ')})`);
  }
}

export function getTracer(name = 'ensemble') {
  return trace.getTracer(name);
}

/**
 * Runs `fn` inside a new active span; records an exception and sets ERROR status when it throws.
 * The span ends when `fn` settles. For streams that outlive `fn`, use `startSpan` and end it yourself.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return getTracer().startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

export function recordError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : new Error(String(error)));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Reads one header by name (a Hono `c.req`, a `Headers`): propagation looks up only the headers it knows. */
interface HeaderLookup {
  header(name: string): string | undefined;
}
const headerLookupGetter = { get: (carrier: HeaderLookup, key: string) => carrier.header(key), keys: () => [] };

/** Extracts W3C trace context from incoming headers: a record of them, or a `header(name)` lookup. */
export function extractTraceContext(headers: Record<string, string | undefined> | HeaderLookup) {
  if (typeof headers['header'] === 'function') return propagation.extract(context.active(), headers as HeaderLookup, headerLookupGetter);
  return propagation.extract(context.active(), headers);
}

/** Injects a trace context (the active one by default) into an outgoing header carrier. */
export function injectTraceContext(headers: Record<string, string>, from: Context = context.active()): Record<string, string> {
  propagation.inject(from, headers);
  return headers;
}

export { SpanKind, SpanStatusCode, context, trace };
export type { Span, Attributes };
