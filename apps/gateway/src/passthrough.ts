import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { PassThrough, Readable, type Writable } from 'node:stream';

import type { ChatCompletionRequest } from '@ensemble/protocol';
import { NODE_STREAM_RESPONSE, SSE_HEADERS, type ServiceEnv, type SseEvent, SseDecoder, sseFrame, writeNodeStreamHead } from '@ensemble/service';
import {
  type Logger,
  type Span,
  SpanKind,
  SpanStatusCode,
  context,
  currentLogContext,
  getTracer,
  injectTraceContext,
  llmRequestAttributes,
  llmResponseAttributes,
  trace,
  withLogContext,
} from '@ensemble/telemetry';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';

import { type UpstreamFailure, describeUpstreamFailure } from './upstream-errors.js';
import { type CancelSignal, type PassthroughUpstream, toHeaders } from './upstream-relay.js';

export interface PassthroughDeps {
  /** The upstream's chat-completions endpoint (never retried: see `main.ts`). */
  upstream: PassthroughUpstream;
  logger: Logger;
  /** The upstream's timeout, repeated here for the 504 message. */
  upstreamTimeoutMs: number;
}

const tracer = getTracer('ensemble-gateway');
// Headers are merged with `Object.assign`, not spread, on this path: see "Hot paths" in docs/conventions.md.
const JSON_HEADERS = { 'Content-Type': 'application/json' };

/**
 * Where one passthrough answer goes, and how the client's departure is seen: the Hono route's context
 * (`honoExchange`), or the socket of the gateway's lane (`socketExchange`). `R` is what the caller gets
 * back once the answer is written or under way.
 */
export interface PassthroughExchange<R> {
  readonly requestId: string;
  /** Aborted when the client goes away: cancels the upstream call, before or during the answer. */
  readonly signal: CancelSignal;
  /** A whole answer: the upstream's JSON text, or an error before any byte went out. */
  reply(status: number, body: string, headers: Readonly<Record<string, string>>): R;
  /** Starts the event stream with `headers` (status 200): the relay writes to `client`; the caller gets `result`. */
  openStream(headers: Readonly<Record<string, string>>): { client: RelayClient; result: R };
}

/**
 * The simple path: the client's request goes to the upstream LLM exactly as validated (unknown and
 * provider-specific fields included), over a plain keep-alive connection (`PassthroughUpstream`), and the
 * answer comes back unchanged. Streams are relayed event by event as they arrive; a client disconnect
 * aborts the upstream call. The LLM span is a child of the active span (the request's server span).
 */
export async function relayChatCompletion<R>(exchange: PassthroughExchange<R>, request: ChatCompletionRequest, deps: PassthroughDeps): Promise<R> {
  const span = tracer.startSpan('llm.chat_completions', { kind: SpanKind.CLIENT });
  const recording = span.isRecording();
  // Message bodies are serialised for the span only when it is recorded (an exporter is configured).
  if (recording) {
    span.setAttributes(llmRequestAttributes({ model: request.model, messages: request.messages, invocationParameters: invocationParameters(request) }));
  }
  // The trace goes upstream as `traceparent` (under the LLM span), recorded or not, so the upstream's
  // logs and spans join the caller's trace.
  const traceHeaders = injectTraceContext({}, trace.setSpan(context.active(), span));
  const { signal } = exchange;
  const started = performance.now();
  const stream = request.stream === true;

  let answer: Awaited<ReturnType<PassthroughUpstream['send']>>;
  try {
    answer = await deps.upstream.send({ body: JSON.stringify(request), stream, requestId: exchange.requestId, headers: traceHeaders, signal });
  } catch (error) {
    return failed(exchange, span, describeUpstreamFailure(error, { timeoutMs: deps.upstreamTimeoutMs }), deps.logger);
  }

  if (answer.stream) {
    const relay = new SseRelay(answer.headers, { span, started, logger: deps.logger, signal, timeoutMs: deps.upstreamTimeoutMs });
    const { client, result } = exchange.openStream(Object.assign({}, SSE_HEADERS, upstreamRequestId(answer.headers)));
    relayToClient(relay, answer.body, client);
    return result;
  }

  try {
    // Parsed once, to refuse a body that is not a completion (and for the span); the client gets the
    // upstream's own text. A stream request the upstream answered with JSON is relayed as JSON.
    const data = parseCompletion(answer.text);
    if (recording) {
      const first = data.choices?.[0]?.message;
      span.setAttributes(llmResponseAttributes({ content: first?.content ?? undefined, usage: data.usage }));
      span.setAttribute('ensemble.upstream.duration_ms', roundMs(performance.now() - started));
    }
    span.end();
    return exchange.reply(200, answer.text, Object.assign({}, JSON_HEADERS, upstreamRequestId(answer.headers)));
  } catch (error) {
    return failed(exchange, span, describeUpstreamFailure(error, { timeoutMs: deps.upstreamTimeoutMs }), deps.logger);
  }
}

/**
 * The exchange of a request the Hono app serves. On a socket (@hono/node-server's bindings) a stream goes
 * straight to it and the client's departure is its `close`; in-process (`app.request`, tests) the same
 * relay writes into a pass-through whose other side is the web body, so tests run the code production runs.
 */
export function honoExchange(c: Context<ServiceEnv>): PassthroughExchange<Response> {
  return new HonoExchange(c);
}

class HonoExchange implements PassthroughExchange<Response> {
  readonly requestId: string;
  readonly #c: Context<ServiceEnv>;
  #signal: CancelSignal | undefined;

  constructor(c: Context<ServiceEnv>) {
    this.#c = c;
    this.requestId = c.var.requestId;
  }

  /** Made when the relay asks for it (`/v1/models` renders failures without one). */
  get signal(): CancelSignal {
    const outgoing = (this.#c.env as Partial<HttpBindings> | undefined)?.outgoing;
    this.#signal ??= outgoing === undefined ? this.#c.req.raw.signal : new ClientGoneSignal(outgoing);
    return this.#signal;
  }

  reply(status: number, body: string, headers: Readonly<Record<string, string>>): Response {
    return this.#c.body(body, status as ContentfulStatusCode, headers);
  }

  openStream(headers: Readonly<Record<string, string>>): { client: RelayClient; result: Response } {
    const client = writeNodeStreamHead(this.#c, 200, headers);
    if (client !== undefined) return { client, result: NODE_STREAM_RESPONSE };
    const body = new PassThrough();
    return { client: body, result: this.#c.body(Readable.toWeb(body) as ReadableStream<Uint8Array>, 200, headers) };
  }
}

/**
 * The exchange of a request the gateway's lane serves on the socket: `headers` (request id, routing
 * decision) go on whatever it answers.
 */
export function socketExchange(outgoing: ServerResponse, requestId: string, headers: Readonly<Record<string, string>>): PassthroughExchange<void> {
  return {
    requestId,
    signal: new ClientGoneSignal(outgoing),
    reply(status, body, replyHeaders) {
      outgoing.writeHead(status, Object.assign({}, headers, replyHeaders, { 'Content-Length': Buffer.byteLength(body) }));
      outgoing.end(body);
    },
    openStream(streamHeaders) {
      // Sent with the first body write; the relay flushes them at once if the upstream's first bytes are late.
      outgoing.writeHead(200, Object.assign({}, headers, streamHeaders));
      return { client: outgoing, result: undefined };
    },
  };
}

/**
 * Aborted when the client's connection closes before its response was complete: the same moment
 * @hono/node-server aborts `c.req.raw.signal`, seen through the socket's own `close` event instead of an
 * `AbortSignal`, whose creation and listeners cost more per request than the rest of the relay's
 * bookkeeping together. A class, not an object literal with an `aborted` getter (see the lint rule in
 * `eslint.config.js`): the literal's accessor kept each request's response and socket state alive past
 * young collections.
 */
class ClientGoneSignal implements CancelSignal {
  #aborted = false;
  readonly #listeners = new Set<() => void>();

  constructor(outgoing: ServerResponse) {
    outgoing.once('close', () => {
      if (outgoing.writableFinished) return;
      this.#aborted = true;
      for (const listener of this.#listeners) listener();
      this.#listeners.clear();
    });
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.delete(listener);
  }
}

/** The fields of a completion the span reads, all optional: the upstream's answer is relayed, not judged. */
interface CompletionSummary {
  choices?: Array<{ message?: { content?: string | null } }>;
  usage?: ChatCompletion['usage'];
}

/** A body that is not a completion (not JSON, no `choices`) fails the call, as it did when the SDK parsed it here. */
function parseCompletion(text: string): CompletionSummary {
  const parsed: unknown = JSON.parse(text);
  if (!isRecord(parsed) || !Array.isArray(parsed['choices'])) throw new Error('upstream answer is not a chat completion');
  return parsed;
}

/** Renders an upstream failure that happened before any byte reached the client. */
export function failed<R>(exchange: Pick<PassthroughExchange<R>, 'reply'>, span: Span | undefined, failure: UpstreamFailure, logger: Logger): R {
  if (span !== undefined) endWithFailure(span, failure);
  if (failure.clientGone) logger.info({ code: failure.code }, 'client closed the request before the upstream answered');
  else logger.warn({ status: failure.status, code: failure.code, upstream_error: failure.body.error.message }, 'upstream call failed');
  return exchange.reply(failure.status, JSON.stringify(failure.body), Object.assign({}, JSON_HEADERS, failure.headers));
}

interface RelayContext {
  span: Span;
  started: number;
  logger: Logger;
  signal: CancelSignal;
  timeoutMs: number;
}

/**
 * The relay of one SSE answer, independent of how bytes come in and go out (`relayToClient` writes it
 * to a socket, or in-process to a pass-through). The upstream's bytes are parsed only as far as the
 * relay must look at them: each event's data is JSON-parsed once (to watch text, usage and finish reasons
 * for the span, and to catch an in-band error event), then forwarded as the upstream's own text, never
 * re-serialised; everything one upstream read delivered goes out in one write. `data: [DONE]` is written
 * once the upstream finished and the stream is complete. Failures after the 200 went out cannot change
 * the status any more: they become a final `data: {"error": ...}` event, which the `openai` SDKs raise as
 * an `APIError`, and the stream ends without `[DONE]`.
 *
 * Events are read exactly as the `openai` SDK reads them (same framing rules, everything after `[DONE]`
 * ignored, an event whose data has an `error` member is an `APIError`), so clients see what they saw
 * when the SDK parsed the stream here.
 */
class SseRelay {
  readonly #decoder = new SseDecoder();
  readonly #observer = new StreamObserver();
  // Stream callbacks run outside the request's async scope: carry its log ids along explicitly.
  readonly #logContext = currentLogContext();
  #finished = false;
  #sawDone = false;

  constructor(
    private readonly upstreamHeaders: IncomingHttpHeaders,
    private readonly relay: RelayContext,
  ) {}

  /** The answer is complete, failed or cancelled: nothing more goes to the client. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The upstream said `[DONE]`: the rest of its body (normally just its end) is to be read and ignored. */
  get sawDone(): boolean {
    return this.#sawDone;
  }

  /** What to write for one upstream read: its complete events, and the end of the answer at `[DONE]`. */
  push(bytes: Uint8Array): string {
    const batch = { text: '' };
    try {
      this.#relayEvents(this.#decoder.push(bytes), batch);
      // Answer the client at `[DONE]`, in the same write as the last events.
      if (this.#sawDone) batch.text += this.#endOfStream();
    } catch (error) {
      batch.text += this.fail(error);
    }
    return batch.text;
  }

  /** What to write when the upstream body ended. */
  end(): string {
    const batch = { text: '' };
    try {
      this.#relayEvents(this.#decoder.end(), batch);
      batch.text += this.#endOfStream();
    } catch (error) {
      batch.text += this.fail(error);
    }
    return batch.text;
  }

  /** The upstream read (or an event) failed: the error event to write, or nothing if the client left. */
  fail(error: unknown): string {
    if (this.#finished) return '';
    // The call was aborted because the client left (the abort also fails the body being read).
    const failure = this.relay.signal.aborted ? undefined : describeUpstreamFailure(error, { timeoutMs: this.relay.timeoutMs });
    if (failure === undefined || failure.clientGone) {
      this.#finish('cancelled');
      return '';
    }
    this.#finish(failure);
    return errorFrame(failure);
  }

  /** The client went away before the answer was complete. */
  cancel(): void {
    if (!this.#finished) this.#finish('cancelled');
  }

  /**
   * Appends the frames of the events one read completed to `batch.text`; throws what the SDK would have
   * thrown for them (the frames before the failing event are kept, so they still go out).
   */
  #relayEvents(events: readonly SseEvent[], batch: { text: string }): void {
    for (const event of events) {
      // Like the SDK: nothing after `[DONE]` counts, and `[DONE]` itself is ours to write at the end.
      if (this.#sawDone) return;
      if (event.data.startsWith('[DONE]')) {
        this.#sawDone = true;
        return;
      }
      const parsed: unknown = JSON.parse(event.data);
      if (isRecord(parsed) && Boolean(parsed['error'])) throw new OpenAI.APIError(undefined, parsed['error'] as object, undefined, toHeaders(this.upstreamHeaders));
      this.#observer.observe(parsed as ChatCompletionChunk);
      batch.text += `data: ${event.data}\n\n`;
    }
  }

  /** The tail after the upstream's last event: `[DONE]`, or an error event if the stream was cut short. */
  #endOfStream(): string {
    if (this.relay.signal.aborted) {
      this.#finish('cancelled');
      return '';
    }
    const truncation = this.#observer.truncation();
    if (truncation === undefined) {
      this.#finish('completed');
      return 'data: [DONE]\n\n';
    }
    const failure = describeUpstreamFailure(new Error(truncation), { timeoutMs: this.relay.timeoutMs });
    this.#finish(failure);
    return errorFrame(failure);
  }

  #finish(outcome: 'completed' | 'cancelled' | UpstreamFailure): void {
    this.#finished = true;
    const { span, logger } = this.relay;
    const observer = this.#observer;
    if (span.isRecording()) {
      span.setAttributes(llmResponseAttributes({ content: observer.content, usage: observer.usage }));
      span.setAttributes({ 'ensemble.stream.chunks': observer.chunks, 'ensemble.upstream.duration_ms': roundMs(performance.now() - this.relay.started) });
      if (observer.firstTokenAt !== undefined) span.setAttribute('ensemble.stream.ttft_ms', roundMs(observer.firstTokenAt - this.relay.started));
    }
    withLogContext(this.#logContext, () => {
      if (outcome === 'completed') {
        span.setStatus({ code: SpanStatusCode.OK });
        span.end();
      } else if (outcome === 'cancelled') {
        // The client left; not our failure, but the trace should show the completion was cut short.
        span.addEvent('client_disconnected');
        span.end();
        logger.info({ chunks: observer.chunks }, 'client disconnected mid-stream; upstream call aborted');
      } else {
        endWithFailure(span, outcome);
        logger.warn({ status: outcome.status, code: outcome.code, chunks: observer.chunks, upstream_error: outcome.body.error.message }, 'upstream stream failed');
      }
    });
  }
}

/**
 * Where the relay writes: the client's socket (`ServerResponse`), or in-process a `PassThrough` whose
 * readable side is the response body. Either one emits `close` when the client goes away.
 */
export type RelayClient = Pick<Writable, 'write' | 'end' | 'once'> & { flushHeaders?(): void };

/**
 * Pipes the upstream's Node stream to the client through the relay. Upstream reads happen only while
 * the client takes more (a slow client pauses the upstream read instead of growing a buffer).
 */
function relayToClient(relay: SseRelay, upstream: Readable, client: RelayClient): void {
  // The upstream's first bytes usually came with its headers: then ours go out with them. If not, the
  // client gets the status and headers now rather than at the first token.
  if (upstream.readableLength === 0) client.flushHeaders?.();
  upstream.on('data', (chunk: Buffer) => {
    // After the answer is complete, the rest of the upstream body is read and ignored, so the
    // keep-alive connection goes back to the pool.
    if (relay.finished) return;
    const text = relay.push(chunk);
    if (relay.finished) {
      client.end(text);
      // Nothing more is read after a failure: let the upstream connection go instead of leaving it half read.
      if (!relay.sawDone) upstream.destroy();
      return;
    }
    if (text !== '' && !client.write(text)) {
      upstream.pause();
      client.once('drain', () => upstream.resume());
    }
  });
  upstream.once('end', () => {
    if (!relay.finished) client.end(relay.end());
  });
  upstream.once('error', (error) => {
    if (!relay.finished) client.end(relay.fail(error));
  });
  client.once('close', () => {
    if (relay.finished) return;
    // The client went away: stop reading, which aborts the upstream call.
    relay.cancel();
    upstream.destroy();
  });
}


function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Watches relayed chunks for the span (text, usage, time to first token) and for truncated streams. */
class StreamObserver {
  content = '';
  usage: ChatCompletionChunk['usage'] = undefined;
  chunks = 0;
  firstTokenAt: number | undefined;
  readonly #open = new Set<number>();
  #sawChoice = false;

  observe(chunk: ChatCompletionChunk): void {
    this.chunks += 1;
    if (chunk.usage) this.usage = chunk.usage;
    // `choices` can be missing on provider-specific events; the relay forwards them regardless.
    for (const choice of chunk.choices ?? []) {
      this.#sawChoice = true;
      const delta = choice.delta as ChatCompletionChunk.Choice.Delta | undefined;
      if (delta?.content) {
        this.firstTokenAt ??= performance.now();
        if (choice.index === 0) this.content += delta.content;
      } else if (delta?.tool_calls !== undefined) {
        this.firstTokenAt ??= performance.now();
      }
      if (choice.finish_reason) this.#open.delete(choice.index);
      else this.#open.add(choice.index);
    }
  }

  /** Why the stream is incomplete although the upstream closed it, or `undefined` if it is complete. */
  truncation(): string | undefined {
    if (!this.#sawChoice) return 'upstream stream ended without any completion choices';
    if (this.#open.size > 0) return `upstream stream ended before choice ${[...this.#open].join(', ')} finished`;
    return undefined;
  }
}

function errorFrame(failure: UpstreamFailure): string {
  return sseFrame({ data: failure.body });
}

function endWithFailure(span: Span, failure: UpstreamFailure): void {
  span.setAttribute('http.response.status_code', failure.status);
  if (failure.clientGone) span.addEvent('client_disconnected');
  else span.setStatus({ code: SpanStatusCode.ERROR, message: failure.body.error.message });
  span.end();
}

function upstreamRequestId(headers: IncomingHttpHeaders): Record<string, string> {
  const id = headers['x-request-id'];
  return typeof id === 'string' ? { 'X-Upstream-Request-ID': id } : {};
}

/** Sampling and length parameters for the span (`llm.invocation_parameters`); messages and tools excluded. */
function invocationParameters(request: ChatCompletionRequest): Record<string, unknown> {
  const { messages: _messages, tools: _tools, model: _model, ...rest } = request;
  return rest;
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
