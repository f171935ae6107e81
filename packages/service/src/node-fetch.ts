import { Agent as HttpAgent, type IncomingMessage, type RequestOptions, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

import { injectTraceContext } from '@ensemble/telemetry';

/** The `fetch` signature the `openai` SDK (its `fetch` option) and the A2A SDK (`fetchImpl`) accept. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface NodeFetch {
  fetch: FetchFunction;
  /** Closes idle keep-alive connections (on shutdown). */
  close(): void;
}

export interface NodeFetchOptions {
  /** Connections per origin; unbounded by default. */
  maxSockets?: number;
  /**
   * Event-stream bodies stay Node streams until someone reads the web body, so a relay can take the
   * Node stream with `claimNodeBody` and pipe it to a socket without WHATWG streams in between. The web
   * body of such a response costs one stream layer more when it is read after all; leave this off
   * for clients that always read it (the A2A client).
   */
  claimableStreams?: boolean;
}

/**
 * The platform's `Response`, taken when this module loads: @hono/node-server replaces the global one with
 * a lazy wrapper once a server starts, and a wrapper that its first `headers` read turns into a real
 * response anyway would only add work to every call.
 */
const NativeResponse = globalThis.Response;

/** Event-stream bodies not read through the web API yet, by response (see `claimableStreams`). */
const claimable = new WeakMap<Response, IncomingMessage>();

/**
 * The Node stream behind an event-stream response of a `claimableStreams` fetch, if its web body was
 * not read yet (`undefined` for any other response). Read the Node stream or the web body, never both.
 */
export function claimNodeBody(response: Response): Readable | undefined {
  const body = claimable.get(response);
  claimable.delete(response);
  return body;
}

/**
 * A `fetch` built on `node:http` keep-alive agents, for the clients on Ensemble's hot paths: the
 * gateway's upstream LLM client (the `openai` SDK's documented `fetch` option) and the A2A client (the
 * A2A SDK's `fetchImpl`). Why not the global `fetch`: it costs about
 * twice the CPU per call of `node:http` (WHATWG request/stream machinery), which alone broke the gateway's
 * ≤1 ms overhead budget and was a third of an A2A call's client-side cost.
 *
 * Semantics the SDKs rely on are kept: abort rejects with an `AbortError` (and errors a body being read),
 * network failures reject with `TypeError('fetch failed', { cause })` like undici, and the W3C trace
 * context of the active span goes out as `traceparent` (OpenTelemetry's undici instrumentation only sees
 * the global `fetch`). Like undici, connections per origin are unbounded unless `maxSockets` says otherwise:
 * a pool limit would queue a new call behind long-lived streams.
 *
 * Redirects are not followed (a 3xx comes back as it is, like `redirect: 'manual'`): the LLM and agent
 * endpoints it is for answer directly; fetch what may redirect (agent cards) with the global `fetch`.
 *
 * Event streams are handed over as they arrive; other bodies (JSON) are read whole first, so an SDK
 * timeout that runs until `fetch` resolves covers the complete answer. Anything this adapter does not
 * handle (non-buffer request bodies, `Request` objects) goes to the global `fetch`.
 */
export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? Number.POSITIVE_INFINITY, scheduling: 'lifo' as const };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);

  const nodeFetch: FetchFunction = (input, init = {}) => {
    const body = init.body;
    if (input instanceof Request || (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array))) {
      return fetch(input, init);
    }
    const url = typeof input === 'string' ? new URL(input) : input;
    const signal = init.signal ?? undefined;
    if (signal?.aborted === true) return Promise.reject(abortError());

    const headers: Record<string, string> = {};
    // The SDK passes a `Headers`; anything else fetch accepts is normalised through one.
    (init.headers instanceof Headers ? init.headers : new Headers(init.headers)).forEach((value, name) => {
      headers[name] = value;
    });
    injectTraceContext(headers);
    const payload = typeof body === 'string' ? Buffer.from(body) : body === undefined || body === null ? undefined : body;
    if (payload !== undefined) headers['content-length'] = String(payload.byteLength);

    const https = url.protocol === 'https:';
    const requestOptions: RequestOptions = { method: init.method ?? 'GET', headers, agent: https ? httpsAgent : httpAgent };
    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      let response: IncomingMessage | undefined;
      const onAbort = () => {
        const error = abortError();
        // Before the answer: reject the call. After it: fail the body the caller is reading.
        if (response === undefined) fail(error);
        else response.destroy(error);
        req.destroy(error);
      };
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(error.name === 'AbortError' ? error : new TypeError('fetch failed', { cause: error }));
      };
      const succeed = (value: Response) => {
        if (settled) return;
        settled = true;
        resolve(value);
      };
      const req = (https ? httpsRequest : httpRequest)(url, requestOptions, (res) => {
        response = res;
        res.once('close', () => signal?.removeEventListener('abort', onAbort));
        const status = res.statusCode ?? 502;
        const responseHeaders = new Headers();
        for (let index = 0; index + 1 < res.rawHeaders.length; index += 2) {
          responseHeaders.append(res.rawHeaders[index] ?? '', res.rawHeaders[index + 1] ?? '');
        }
        if (status === 204 || status === 304 || requestOptions.method === 'HEAD') {
          res.resume();
          succeed(new NativeResponse(null, { status, headers: responseHeaders }));
          return;
        }
        if ((responseHeaders.get('content-type') ?? '').includes('text/event-stream')) {
          if (options.claimableStreams !== true) {
            succeed(new NativeResponse(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers: responseHeaders }));
            return;
          }
          let response: Response | undefined = undefined;
          let web: ReadableStreamDefaultReader<Uint8Array> | undefined;
          // The web body is built on its first read, unless the Node stream was claimed before.
          const body = new ReadableStream<Uint8Array>(
            {
              async pull(controller) {
                if (response !== undefined) claimable.delete(response);
                web ??= (Readable.toWeb(res) as ReadableStream<Uint8Array>).getReader();
                const { done, value } = await web.read();
                if (done) controller.close();
                else controller.enqueue(value);
              },
              async cancel(reason) {
                if (web !== undefined) await web.cancel(reason);
                else res.destroy();
              },
            },
            { highWaterMark: 0 },
          );
          response = new NativeResponse(body, { status, headers: responseHeaders });
          claimable.set(response, res);
          succeed(response);
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => succeed(new NativeResponse(Buffer.concat(chunks), { status, headers: responseHeaders })));
        res.once('error', fail);
        // An upstream that closes mid-body without an error event still must not leave the call pending.
        res.once('close', () => {
          if (!res.complete) fail(new Error('upstream closed the connection before the response was complete'));
        });
      });
      req.once('error', fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
  };

  return {
    fetch: nodeFetch,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function abortError(): Error {
  return new DOMException('This operation was aborted', 'AbortError');
}

let shared: NodeFetch | undefined;

/** One process-wide `createNodeFetch()` (its agents are pools: one per process is what they are for). */
export function sharedNodeFetch(): FetchFunction {
  shared ??= createNodeFetch();
  return shared.fetch;
}
