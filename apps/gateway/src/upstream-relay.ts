import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

import OpenAI from 'openai';

/** One passthrough call: the client's validated request, as the JSON text to send. */
export interface PassthroughCall {
  body: string;
  stream: boolean;
  /** Goes upstream as `X-Request-ID`, so one id finds the exchange in both services' logs. */
  requestId: string;
  /** Extra headers (W3C `traceparent`). */
  headers?: Readonly<Record<string, string>>;
  /** The client's request: its abort cancels the upstream call, before or during the answer. */
  signal: CancelSignal;
}

/**
 * What `send` needs of an `AbortSignal` (which is one). The gateway passes a lighter one built on the
 * client socket's `close` event: creating an `AbortSignal` and its listeners cost more per request than
 * the rest of the relay's bookkeeping together.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A successful (2xx) upstream answer. Error statuses never come back: they are thrown (see `send`). */
export type PassthroughAnswer =
  | { stream: false; status: number; headers: IncomingHttpHeaders; text: string }
  | { stream: true; status: number; headers: IncomingHttpHeaders; body: Readable };

/**
 * The passthrough's way to the upstream LLM: one `POST /chat/completions` whose answer is relayed, not
 * read. `send` resolves with a 2xx answer (a JSON text read whole, or an event stream as it arrives) and
 * rejects with the `openai` SDK's error classes, so `describeUpstreamFailure` maps them exactly as it maps
 * the SDK's own failures: `APIError` with the upstream's status, body and headers for an HTTP error,
 * `APIConnectionTimeoutError` past the timeout, `APIConnectionError` (with the network error as its
 * cause) when the connection fails, `APIUserAbortError` when `signal` aborts first.
 */
export interface PassthroughUpstream {
  send(call: PassthroughCall): Promise<PassthroughAnswer>;
  /** Closes idle keep-alive connections (on shutdown). */
  close(): void;
}

export interface HttpPassthroughUpstreamOptions {
  /** The upstream's OpenAI base URL, `/v1` included (`OPENAI_BASE_URL`). */
  baseURL: string;
  apiKey?: string | undefined;
  /**
   * Time the upstream has to answer: until the whole JSON answer, or until the headers of a stream
   * (a stream's pace is the model's; a client that gives up closes the connection).
   */
  timeoutMs: number;
  /** Connections per origin; unbounded by default (a pool limit would queue calls behind long streams). */
  maxSockets?: number;
}

/** Error bodies are read for their OpenAI error object; a huge one is cut here rather than buffered. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * The passthrough over `node:http` keep-alive connections, with no SDK in between: the request is the
 * client's own JSON, and the answer's bytes go back as they came. What the `openai` SDK did on this path
 * is kept (auth header, timeout, error classes); what it cost (building a request through WHATWG
 * `fetch` types, its header merging, retries logic, the `Response` wrapper) is not.
 */
export class HttpPassthroughUpstream implements PassthroughUpstream {
  /** Where every call goes, as `node:http` options: a `URL` would be converted again on every call. */
  readonly #target: { protocol: string; hostname: string; port: string; path: string };
  readonly #https: boolean;
  readonly #agent: HttpAgent;
  readonly #timeoutMs: number;
  readonly #baseHeaders: Readonly<Record<string, string>>;

  constructor(options: HttpPassthroughUpstreamOptions) {
    const url = new URL(`${options.baseURL.replace(/\/+$/, '')}/chat/completions`);
    this.#https = url.protocol === 'https:';
    // `hostname` keeps an IPv6 literal's brackets; `node:http` wants it without them.
    this.#target = { protocol: url.protocol, hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port, path: `${url.pathname}${url.search}` };
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? Number.POSITIVE_INFINITY, scheduling: 'lifo' as const };
    this.#agent = this.#https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.#timeoutMs = options.timeoutMs;
    this.#baseHeaders = {
      'content-type': 'application/json',
      ...(options.apiKey === undefined || options.apiKey === '' ? {} : { authorization: `Bearer ${options.apiKey}` }),
    };
  }

  send(call: PassthroughCall): Promise<PassthroughAnswer> {
    const { signal } = call;
    const { protocol, hostname, port, path } = this.#target;
    if (signal.aborted) return Promise.reject(new OpenAI.APIUserAbortError());
    // A string body goes out in one write with the headers.
    const payload = call.body;
    // Merged with `Object.assign`, not spread: see "Hot paths" in docs/conventions.md.
    const headers: OutgoingHttpHeaders = Object.assign(
      { accept: call.stream ? 'text/event-stream' : 'application/json', 'content-length': Buffer.byteLength(payload), 'x-request-id': call.requestId },
      this.#baseHeaders,
      call.headers,
    );
    return new Promise<PassthroughAnswer>((resolve, reject) => {
      let settled = false;
      let response: IncomingMessage | undefined;
      const settle = (error: Error | undefined, answer?: PassthroughAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== undefined) {
          signal.removeEventListener('abort', onAbort);
          response?.destroy();
          req.destroy();
          reject(error);
        } else if (answer !== undefined) {
          resolve(answer);
        }
      };
      // Before the answer: the call fails. After it (a stream being relayed): the body being read fails,
      // which the relay sees as the client leaving.
      const onAbort = () => {
        if (!settled) settle(new OpenAI.APIUserAbortError());
        else {
          response?.destroy(new OpenAI.APIUserAbortError());
          req.destroy();
        }
      };
      const timer = setTimeout(() => settle(new OpenAI.APIConnectionTimeoutError()), this.#timeoutMs);
      const req = (this.#https ? httpsRequest : httpRequest)({ protocol, hostname, port, path, method: 'POST', headers, agent: this.#agent }, (res) => {
        response = res;
        res.once('close', () => signal.removeEventListener('abort', onAbort));
        const status = res.statusCode ?? 502;
        if (status < 200 || status > 299) {
          readBody(res, MAX_ERROR_BODY_BYTES).then(
            (text) => settle(statusError(status, text, res.headers)),
            (error: unknown) => settle(connectionError(error)),
          );
          return;
        }
        if (call.stream && (res.headers['content-type'] ?? '').includes('text/event-stream')) {
          settle(undefined, { stream: true, status, headers: res.headers, body: res });
          return;
        }
        readBody(res, Number.POSITIVE_INFINITY).then(
          (text) => settle(undefined, { stream: false, status, headers: res.headers, text }),
          (error: unknown) => settle(connectionError(error)),
        );
      });
      req.once('error', (error) => settle(connectionError(error)));
      signal.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function readBody(res: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= maxBytes) chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
    // An upstream that closes mid-body without an error event must not leave the call pending.
    res.once('close', () => {
      if (!res.complete) reject(new Error('upstream closed the connection before the response was complete'));
    });
  });
}

/** What the SDK throws for an HTTP error status: `APIError` with the upstream's error object and headers. */
function statusError(status: number, text: string, headers: IncomingHttpHeaders): Error {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const errorResponse = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  return OpenAI.APIError.generate(status, errorResponse, `${status} ${text.slice(0, 200)}`, toHeaders(headers));
}

function connectionError(error: unknown): Error {
  if (error instanceof OpenAI.APIError) return error;
  return new OpenAI.APIConnectionError({ cause: error instanceof Error ? error : new Error(String(error)) });
}

/** Node's header object as a WHATWG `Headers` (error paths only: the SDK's error classes carry one). */
export function toHeaders(headers: IncomingHttpHeaders): Headers {
  const result = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) result.append(name, item);
  }
  return result;
}
