import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';

/**
 * Raw HTTP for the conformance suite: requests are written as bytes on the wire (fetch), never through
 * our A2A client, so the suite checks what any client (the A2A TCK included) would see.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A JSON-RPC response as parsed from the wire. */
export interface RpcResponse {
  status: number;
  headers: Headers;
  body: JsonObject;
}

export interface CallOptions {
  /** `A2A-Version` header; `undefined` sends none (a v0.3 client). */
  version?: string;
  token?: string;
  contentType?: string;
}

export function headersFor(options: CallOptions, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json', ...extra };
  if (options.version !== undefined) headers['A2A-Version'] = options.version;
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  return headers;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a property that must be an object (fails the test with the document when it is not). */
export function objectAt(value: unknown, key: string): JsonObject {
  const found = isObject(value) ? value[key] : undefined;
  if (!isObject(found)) throw new Error(`expected "${key}" to be an object in ${JSON.stringify(value)}`);
  return found;
}

export function stringAt(value: unknown, key: string): string {
  const found = isObject(value) ? value[key] : undefined;
  if (typeof found !== 'string') throw new Error(`expected "${key}" to be a string in ${JSON.stringify(value)}`);
  return found;
}

export function arrayAt(value: unknown, key: string): Json[] {
  const found = isObject(value) ? value[key] : undefined;
  if (!Array.isArray(found)) throw new Error(`expected "${key}" to be an array in ${JSON.stringify(value)}`);
  return found;
}

/** Posts a JSON-RPC request (an object, or raw text for malformed-body checks). */
export async function rpc(url: string, request: JsonObject | string, options: CallOptions = {}): Promise<RpcResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: headersFor(options),
    body: typeof request === 'string' ? request : JSON.stringify(request),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`JSON-RPC endpoint answered ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
  if (!isObject(body)) throw new Error(`JSON-RPC endpoint answered with a non-object: ${text.slice(0, 300)}`);
  return { status: response.status, headers: response.headers, body };
}

let counter = 0;

/** A well-formed request with a fresh id. */
export function request(method: string, params: JsonObject = {}): JsonObject & { id: string } {
  counter += 1;
  return { jsonrpc: '2.0', id: `conformance-${counter}`, method, params };
}

/** The `result` of a successful call (fails with the whole response otherwise). */
export function resultOf(response: RpcResponse): JsonObject {
  const result = response.body['result'];
  if (!isObject(result)) throw new Error(`expected a JSON-RPC result, got ${JSON.stringify(response.body)}`);
  return result;
}

/** The `error` of a failed call (fails with the whole response otherwise). */
export function errorOf(response: RpcResponse): { code: number; message: string; data?: Json } {
  const error = response.body['error'];
  if (!isObject(error) || typeof error['code'] !== 'number' || typeof error['message'] !== 'string') {
    throw new Error(`expected a JSON-RPC error, got ${JSON.stringify(response.body)}`);
  }
  return { code: error['code'], message: error['message'], data: error['data'] };
}

/** v1.0 message (ProtoJSON: `ROLE_USER`, parts without `kind`). */
export function v1Message(text: string, extra: JsonObject = {}): JsonObject {
  return { messageId: `m-${randomUUID()}`, role: 'ROLE_USER', parts: [{ text }], ...extra };
}

/** v0.3 message (`kind` discriminators, lowercase role). */
export function v03Message(text: string, extra: JsonObject = {}): JsonObject {
  return { kind: 'message', messageId: `m-${randomUUID()}`, role: 'user', parts: [{ kind: 'text', text }], ...extra };
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Every `data:` payload, parsed, in arrival order. */
  events: JsonObject[];
}

/**
 * Reads an SSE response to its end, handing each event to `onEvent` as it arrives (so a test can act
 * mid-stream, e.g. cancel the task). A stream that does not end within `timeoutMs` fails the test:
 * the spec requires it to close at a terminal state.
 */
export async function readSse(response: Response, onEvent?: (event: JsonObject, index: number) => Promise<void> | void, timeoutMs = 30_000): Promise<SseStream> {
  const events: JsonObject[] = [];
  if (response.body === null) throw new Error('SSE response has no body');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => void reader.cancel(new Error('stream did not end')), timeoutMs);
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += value;
      let boundary = buffer.indexOf('\n\n');
      while (boundary !== -1) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (data !== '') {
          const parsed: unknown = JSON.parse(data);
          if (!isObject(parsed)) throw new Error(`SSE event is not a JSON object: ${data}`);
          events.push(parsed);
          await onEvent?.(parsed, events.length - 1);
        }
        boundary = buffer.indexOf('\n\n');
      }
    }
  } finally {
    clearTimeout(timer);
  }
  if (events.length === 0 && buffer.trim() !== '') throw new Error(`unterminated SSE data: ${buffer.slice(0, 300)}`);
  return { status: response.status, headers: response.headers, events };
}

/** Opens a streaming JSON-RPC call and reads it to the end. */
export async function rpcStream(url: string, body: JsonObject, options: CallOptions, onEvent?: (event: JsonObject, index: number) => Promise<void> | void): Promise<SseStream> {
  const response = await fetch(url, { method: 'POST', headers: headersFor(options, { accept: 'text/event-stream' }), body: JSON.stringify(body) });
  return readSse(response, onEvent);
}

/** A2A v1.0 task states as ProtoJSON spells them. */
export const V1_TERMINAL_STATES = ['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED'];
export const V1_INTERRUPTED_STATES = ['TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_AUTH_REQUIRED'];
export const V1_STATES = ['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', ...V1_TERMINAL_STATES, ...V1_INTERRUPTED_STATES];
export const V03_TERMINAL_STATES = ['completed', 'failed', 'canceled', 'rejected'];

/** ISO 8601 in UTC with a `Z` suffix (DM-SERIAL-003). */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** `google.rpc.ErrorInfo` entries of an error's `data` (JSON-RPC) or `details` (HTTP+JSON). */
export function errorInfoReasons(details: Json | undefined): string[] {
  if (!Array.isArray(details)) return [];
  return details
    .filter(isObject)
    .filter((entry) => entry['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo' && entry['domain'] === 'a2a-protocol.org')
    .map((entry) => entry['reason'])
    .filter((reason): reason is string => typeof reason === 'string');
}

/**
 * POSTs a request whose declared `Content-Length` is `declaredBytes` but sends only the first few bytes:
 * a body-size check must answer from the header alone, whatever the agent's limit (no agent takes a
 * gigabyte). Resolves with the status, headers and body of that early answer; the socket is then dropped.
 */
export function postDeclaringLength(url: string, declaredBytes: number, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers, 'content-length': String(declaredBytes) }, agent: false });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') flat[name] = value;
        resolve({ status: response.statusCode ?? 0, headers: flat, text: Buffer.concat(chunks).toString('utf8') });
        request.destroy();
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.write('{"jsonrpc":"2.0","id":1,');
  });
}
