import type { ChatCompletionRequest } from '@ensemble/protocol';
import type { ServiceEnv } from '@ensemble/service';
import {
  type Logger,
  type Span,
  SpanKind,
  SpanStatusCode,
  context,
  currentLogContext,
  getTracer,
  llmRequestAttributes,
  llmResponseAttributes,
  trace,
  withLogContext,
} from '@ensemble/telemetry';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type OpenAI from 'openai';
import type { Stream } from 'openai/core/streaming';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';

import { type UpstreamFailure, describeUpstreamFailure } from './upstream-errors.js';

export interface PassthroughDeps {
  /** The upstream client; built with `maxRetries: 0` (see `main.ts` for why). */
  upstream: OpenAI;
  logger: Logger;
  /** The client's `timeout`, repeated here for the 504 message. */
  upstreamTimeoutMs: number;
}

const tracer = getTracer('ensemble-gateway');
const encoder = new TextEncoder();
const SSE_HEADERS = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' };

/**
 * The simple path: the client's request goes to the upstream LLM through the `openai` SDK exactly as
 * validated (unknown and provider-specific fields included), and the answer comes back unchanged.
 * Streams are relayed event by event as they arrive; a client disconnect aborts the upstream call.
 */
export async function relayChatCompletion(c: Context<ServiceEnv>, request: ChatCompletionRequest, deps: PassthroughDeps): Promise<Response> {
  const span = tracer.startSpan('llm.chat_completions', {
    kind: SpanKind.CLIENT,
    attributes: llmRequestAttributes({ model: request.model, messages: request.messages, invocationParameters: invocationParameters(request) }),
  });
  const spanContext = trace.setSpan(context.active(), span);
  // The request id travels upstream so one id finds the exchange in both services' logs.
  const options = { signal: c.req.raw.signal, headers: { 'X-Request-ID': c.var.requestId } };
  const started = performance.now();

  if (request.stream === true) {
    let upstream: { data: Stream<ChatCompletionChunk>; response: Response };
    try {
      upstream = await context.with(spanContext, () => deps.upstream.chat.completions.create(asStreamingParams(request), options).withResponse());
    } catch (error) {
      return failed(c, span, describeUpstreamFailure(error, { timeoutMs: deps.upstreamTimeoutMs }), deps.logger);
    }
    const headers: Record<string, string> = { ...SSE_HEADERS, ...upstreamRequestId(upstream.response) };
    return c.body(sseRelay(upstream.data, { span, started, logger: deps.logger, signal: c.req.raw.signal, timeoutMs: deps.upstreamTimeoutMs }), 200, headers);
  }

  try {
    const { data, response } = await context.with(spanContext, () => deps.upstream.chat.completions.create(asNonStreamingParams(request), options).withResponse());
    const first = data.choices[0]?.message;
    span.setAttributes(llmResponseAttributes({ content: first?.content ?? undefined, usage: data.usage }));
    span.setAttribute('ensemble.upstream.duration_ms', roundMs(performance.now() - started));
    span.end();
    return c.json(data, 200, upstreamRequestId(response));
  } catch (error) {
    return failed(c, span, describeUpstreamFailure(error, { timeoutMs: deps.upstreamTimeoutMs }), deps.logger);
  }
}

/** Renders an upstream failure that happened before any byte reached the client. */
export function failed(c: Context<ServiceEnv>, span: Span | undefined, failure: UpstreamFailure, logger: Logger): Response {
  if (span !== undefined) endWithFailure(span, failure);
  if (failure.clientGone) logger.info({ code: failure.code }, 'client closed the request before the upstream answered');
  else logger.warn({ status: failure.status, code: failure.code, upstream_error: failure.body.error.message }, 'upstream call failed');
  return c.json(failure.body, failure.status as ContentfulStatusCode, failure.headers);
}

interface RelayContext {
  span: Span;
  started: number;
  logger: Logger;
  signal: AbortSignal;
  timeoutMs: number;
}

/**
 * The SSE body: reads upstream events only when the client connection can take more (a slow client slows
 * the upstream read instead of growing a buffer), writes `data: <chunk>` for each as soon as it is here,
 * and `data: [DONE]` once the upstream finished. Failures
 * after the 200 went out cannot change the status any more: they become a final `data: {"error": ...}`
 * event, which the `openai` SDKs raise as an `APIError`, and the stream ends without `[DONE]`.
 */
function sseRelay(stream: Stream<ChatCompletionChunk>, relay: RelayContext): ReadableStream<Uint8Array> {
  const iterator = stream[Symbol.asyncIterator]();
  const observer = new StreamObserver();
  // Stream callbacks run outside the request's async scope: carry its log ids along explicitly.
  const logContext = currentLogContext();
  let finished = false;

  const finish = (outcome: 'completed' | 'cancelled' | UpstreamFailure) => {
    finished = true;
    const { span } = relay;
    span.setAttributes(llmResponseAttributes({ content: observer.content, usage: observer.usage }));
    span.setAttributes({ 'ensemble.stream.chunks': observer.chunks, 'ensemble.upstream.duration_ms': roundMs(performance.now() - relay.started) });
    if (observer.firstTokenAt !== undefined) span.setAttribute('ensemble.stream.ttft_ms', roundMs(observer.firstTokenAt - relay.started));
    withLogContext(logContext, () => {
      if (outcome === 'completed') {
        span.setStatus({ code: SpanStatusCode.OK });
        span.end();
      } else if (outcome === 'cancelled') {
        // The client left; not our failure, but the trace should show the completion was cut short.
        span.addEvent('client_disconnected');
        span.end();
        relay.logger.info({ chunks: observer.chunks }, 'client disconnected mid-stream; upstream call aborted');
      } else {
        endWithFailure(span, outcome);
        relay.logger.warn({ status: outcome.status, code: outcome.code, chunks: observer.chunks, upstream_error: outcome.body.error.message }, 'upstream stream failed');
      }
    });
  };

  // A `next()` that lost the race against the event loop turn below; the following pull awaits it.
  let pending: Promise<IteratorResult<ChatCompletionChunk>> | undefined;

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let frames = '';
        try {
          let next = await (pending ?? iterator.next());
          pending = undefined;
          // Every event the upstream has already delivered goes out in this one write: one syscall for
          // a burst instead of one per event. Nothing waits for data that has not arrived yet: the
          // batch ends at the first event that is not ready within the current event-loop turn.
          while (next.done !== true && !finished) {
            observer.observe(next.value);
            frames += `data: ${JSON.stringify(next.value)}\n\n`;
            const following = iterator.next();
            const ready = await Promise.race([following, nextTurn()]);
            if (ready === NOT_READY) {
              pending = following;
              // Keep a rejection of the parked promise from being reported as unhandled.
              following.catch(() => undefined);
              break;
            }
            next = ready;
          }
          if (finished) return;
          if (next.done === true) frames += endOfStream();
        } catch (error) {
          if (finished) return;
          const failure = describeUpstreamFailure(error, { timeoutMs: relay.timeoutMs });
          if (failure.clientGone) finish('cancelled');
          else {
            frames += errorFrame(failure);
            finish(failure);
          }
        }
        if (frames !== '') controller.enqueue(encoder.encode(frames));
        if (finished) controller.close();
      },
      cancel() {
        // The client went away (the server cancels the body): stop reading and abort the upstream call.
        if (!finished) finish('cancelled');
        stream.controller.abort();
      },
    },
    // Pull-driven: upstream events are read as the response consumer asks for more, not ahead of it.
    { highWaterMark: 0 },
  );

  /** The tail after the upstream's last event: `[DONE]`, or an error event if the stream was cut short. */
  function endOfStream(): string {
    // The SDK ends its iterator quietly when the call was aborted: that is the client leaving.
    if (relay.signal.aborted) {
      finish('cancelled');
      return '';
    }
    const truncation = observer.truncation();
    if (truncation === undefined) {
      finish('completed');
      return 'data: [DONE]\n\n';
    }
    const failure = describeUpstreamFailure(new Error(truncation), { timeoutMs: relay.timeoutMs });
    finish(failure);
    return errorFrame(failure);
  }
}

const NOT_READY = Symbol('not ready');
/** Resolves after the current event-loop turn (I/O callbacks included): "is the next event here yet?" */
function nextTurn(): Promise<typeof NOT_READY> {
  return new Promise((resolve) => setImmediate(resolve, NOT_READY));
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
  return `data: ${JSON.stringify(failure.body)}\n\n`;
}

function endWithFailure(span: Span, failure: UpstreamFailure): void {
  span.setAttribute('http.response.status_code', failure.status);
  if (failure.clientGone) span.addEvent('client_disconnected');
  else span.setStatus({ code: SpanStatusCode.ERROR, message: failure.body.error.message });
  span.end();
}

function upstreamRequestId(response: Response): Record<string, string> {
  const id = response.headers.get('x-request-id');
  return id === null ? {} : { 'X-Upstream-Request-ID': id };
}

/** Sampling and length parameters for the span (`llm.invocation_parameters`); messages and tools excluded. */
function invocationParameters(request: ChatCompletionRequest): Record<string, unknown> {
  const { messages: _messages, tools: _tools, model: _model, ...rest } = request;
  return rest;
}

/*
 * The validated request is the client's OpenAI request with every unknown field kept. The SDK's parameter
 * types are narrower than what the gateway accepts on purpose (the upstream, not the gateway, judges
 * provider-specific fields), so this is the one place where the two types meet, by assertion.
 */
function asStreamingParams(request: ChatCompletionRequest): ChatCompletionCreateParamsStreaming {
  return request as unknown as ChatCompletionCreateParamsStreaming;
}
function asNonStreamingParams(request: ChatCompletionRequest): ChatCompletionCreateParamsNonStreaming {
  return request as unknown as ChatCompletionCreateParamsNonStreaming;
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
