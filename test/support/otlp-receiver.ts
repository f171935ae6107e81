import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';

import protobuf from 'protobufjs';

/**
 * An OTLP/HTTP trace receiver that behaves like Phoenix's `POST /v1/traces`: it takes only
 * `Content-Type: application/x-protobuf` (optionally gzip or deflate encoded), answers 415 to anything
 * else (OTLP JSON included), and decodes the body as an `ExportTraceServiceRequest`. Tests read back the
 * spans it decoded and every request it saw.
 */

/** The subset of `opentelemetry/proto/{common,resource,trace,collector/trace}/v1` this receiver reads. */
const OTLP_TRACE_PROTO = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  repeated KeyValue attributes = 9;
  Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const ExportTraceServiceRequest = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root.lookupType('otlp.ExportTraceServiceRequest');

type AttributeValue = string | number | boolean | AttributeValue[] | Record<string, unknown> | Uint8Array | undefined;

/** One decoded span, flattened with its resource's `service.name`. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  attributes: Record<string, AttributeValue>;
}

export interface ReceivedRequest {
  contentType: string;
  contentEncoding: string;
  status: number;
}

export interface OtlpReceiver {
  /** Base URL to give services as `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  readonly requests: ReceivedRequest[];
  /** Resolves once `predicate` holds for the spans received so far; rejects after `timeoutMs`. */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface DecodedKeyValue {
  key: string;
  value?: DecodedAnyValue;
}
interface DecodedAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number;
  doubleValue?: number;
  arrayValue?: { values?: DecodedAnyValue[] };
  kvlistValue?: { values?: DecodedKeyValue[] };
  bytesValue?: Uint8Array;
}
interface DecodedRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: DecodedKeyValue[] };
    scopeSpans?: Array<{ spans?: Array<{ traceId: Uint8Array; spanId: Uint8Array; parentSpanId?: Uint8Array; name: string; attributes?: DecodedKeyValue[] }> }>;
  }>;
}

const decompress: Record<string, (body: Buffer) => Promise<Buffer>> = {
  identity: async (body) => body,
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
};

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const contentEncoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
    const answer = (status: number, body = '') => {
      requests.push({ contentType, contentEncoding, status });
      response.writeHead(status, { 'content-type': status === 200 ? 'application/x-protobuf' : 'text/plain' }).end(body);
    };
    if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/traces') return answer(404, 'not found');
    const inflateBody = decompress[contentEncoding];
    if (contentType !== 'application/x-protobuf' || inflateBody === undefined) return answer(415, 'Unsupported content type');
    let decoded: DecodedRequest;
    try {
      const message = ExportTraceServiceRequest.decode(await inflateBody(Buffer.concat(chunks)));
      // Plain object, unset fields left out (so an unset oneof member reads as undefined), int64 as numbers.
      decoded = ExportTraceServiceRequest.toObject(message, { longs: Number, defaults: false });
    } catch (error) {
      return answer(400, `Request body is invalid ExportTraceServiceRequest: ${String(error)}`);
    }
    for (const resourceSpans of decoded.resourceSpans ?? []) {
      const resource = attributesOf(resourceSpans.resource?.attributes);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          spans.push({
            service: typeof resource['service.name'] === 'string' ? resource['service.name'] : '',
            traceId: Buffer.from(span.traceId).toString('hex'),
            spanId: Buffer.from(span.spanId).toString('hex'),
            parentSpanId: span.parentSpanId === undefined || span.parentSpanId.length === 0 ? undefined : Buffer.from(span.parentSpanId).toString('hex'),
            name: span.name,
            attributes: attributesOf(span.attributes),
          });
        }
      }
    }
    // An empty ExportTraceServiceResponse (no partial_success) is the zero-length message.
    answer(200);
    for (const waiter of waiters) waiter();
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    waitFor(predicate, timeoutMs = 15_000) {
      if (predicate(spans)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`OTLP receiver: condition not met within ${timeoutMs} ms (${spans.length} spans, ${requests.length} requests)`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

function attributesOf(list: readonly DecodedKeyValue[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map((entry) => [entry.key, valueOf(entry.value)]));
}

function valueOf(value: DecodedAnyValue | undefined): AttributeValue {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return value.intValue;
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.kvlistValue !== undefined) return attributesOf(value.kvlistValue.values);
  return value.bytesValue;
}
