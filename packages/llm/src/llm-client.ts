import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { SpanKind, inSpan, llmRequestAttributes, llmResponseAttributes } from '@ensemble/telemetry';
import OpenAI, { type ClientOptions } from 'openai';
import { ContentFilterFinishReasonError, LengthFinishReasonError } from 'openai/core/error';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { z } from 'zod';

export interface LlmClientConfig {
  /** Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, sim-llm), including the `/v1` suffix. */
  baseURL?: string | undefined;
  apiKey?: string | undefined;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** The SDK's own retries (429, 5xx, connection errors) with its backoff and `retry-after` handling. */
  maxRetries?: number;
  /** Transport for the SDK (its `fetch` option); the global `fetch` when omitted. */
  fetch?: ClientOptions['fetch'];
}

/**
 * The one way Ensemble builds an LLM client: the official `openai` SDK. Never special-cases a provider;
 * a missing key is allowed (local servers ignore it) and sent as a placeholder.
 */
export function createLlmClient(config: LlmClientConfig): OpenAI {
  return new OpenAI({
    baseURL: config.baseURL ?? 'https://api.openai.com/v1',
    apiKey: config.apiKey ?? 'not-needed',
    timeout: config.timeoutMs ?? 60_000,
    maxRetries: config.maxRetries ?? 2,
    ...(config.fetch === undefined ? {} : { fetch: config.fetch }),
  });
}

/** Maps an `openai` SDK error to an EnsembleError, keeping upstream status and message. */
export function fromOpenAIError(error: unknown, what = 'LLM request'): EnsembleError {
  if (error instanceof EnsembleError) return error;
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new EnsembleError(ErrorCode.UpstreamTimeout, `${what} timed out`, { cause: error });
  }
  if (error instanceof OpenAI.APIUserAbortError) {
    return new EnsembleError(ErrorCode.Cancelled, `${what} was cancelled`, { cause: error });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new EnsembleError(ErrorCode.UpstreamUnavailable, `${what} failed: upstream unreachable`, { cause: error });
  }
  if (error instanceof OpenAI.APIError) {
    const status: number = typeof error.status === 'number' ? error.status : 502;
    const code = status === 429 ? ErrorCode.RateLimited : status >= 500 ? ErrorCode.UpstreamError : ErrorCode.InvalidRequest;
    const message: string = error.message;
    return new EnsembleError(code, `${what} failed (${status}): ${message}`, { cause: error, status });
  }
  return new EnsembleError(ErrorCode.UpstreamError, `${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

export interface StructuredCompletionRequest<S extends z.ZodType> {
  model: string;
  messages: ChatCompletionMessageParam[];
  schema: S;
  /** Name of the JSON schema sent as `response_format.json_schema.name`. */
  schemaName: string;
  temperature?: number;
  signal?: AbortSignal;
  /** Span name; defaults to `llm.<schemaName>`. */
  spanName?: string;
  /**
   * Told the call's token usage as soon as the model answered, also when the answer then fails to
   * parse: the tokens were spent either way (callers report them to whoever pays).
   */
  onUsage?: (usage: CompletionUsage) => void;
}

/**
 * A chat completion whose answer must match a zod schema (OpenAI structured outputs). Returns the parsed
 * value, or throws `invalid_request`-free `upstream_error` when the model's output does not validate,
 * so callers can re-ask with the error.
 */
export async function structuredCompletion<S extends z.ZodType>(
  client: OpenAI,
  request: StructuredCompletionRequest<S>,
): Promise<z.infer<S>> {
  return inSpan(
    request.spanName ?? `llm.${request.schemaName}`,
    { kind: SpanKind.CLIENT, attributes: llmRequestAttributes({ model: request.model, messages: request.messages, invocationParameters: { temperature: request.temperature } }) },
    async (span) => {
      // `create` plus the format's own parser (what `parse()` does) rather than `parse()`, which throws on
      // an unparseable answer before its usage can be read.
      const format = zodResponseFormat(request.schema as never, request.schemaName);
      let completion: ChatCompletion;
      try {
        completion = await client.chat.completions.create(
          {
            model: request.model,
            messages: request.messages,
            ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
            response_format: format,
          },
          { signal: request.signal },
        );
      } catch (error) {
        throw fromOpenAIError(error, request.schemaName);
      }
      if (completion.usage !== undefined) request.onUsage?.(completion.usage);
      const choice = completion.choices[0];
      const message = choice?.message;
      span.setAttributes(llmResponseAttributes({ content: message?.content ?? undefined, usage: completion.usage }));
      let parsed: z.infer<S> | null | undefined;
      try {
        if (choice?.finish_reason === 'length') throw new LengthFinishReasonError();
        if (choice?.finish_reason === 'content_filter') throw new ContentFilterFinishReasonError();
        parsed = message?.content && !message.refusal ? format.$parseRaw(message.content) : null;
      } catch (error) {
        // Not JSON, or JSON that fails the schema: the model's mistake, so callers can re-ask with it.
        throw new EnsembleError(ErrorCode.UpstreamError, `Model output for ${request.schemaName} did not match the schema: ${(error as Error).message}`, { cause: error });
      }
      if (parsed === null || parsed === undefined) {
        throw new EnsembleError(ErrorCode.UpstreamError, `Model returned no ${request.schemaName}${message?.refusal ? ` (refusal: ${message.refusal})` : ''}`);
      }
      return parsed;
    },
  );
}

/** A plain (non-streaming) chat completion inside an LLM span; returns the assistant's text. */
export async function textCompletion(
  client: OpenAI,
  params: Omit<ChatCompletionCreateParamsNonStreaming, 'stream'>,
  options: { signal?: AbortSignal; spanName?: string } = {},
): Promise<string> {
  return inSpan(
    options.spanName ?? 'llm.completion',
    { kind: SpanKind.CLIENT, attributes: llmRequestAttributes({ model: params.model, messages: params.messages }) },
    async (span) => {
      try {
        const completion = await client.chat.completions.create({ ...params, stream: false }, { signal: options.signal });
        const content = completion.choices[0]?.message.content ?? '';
        span.setAttributes(llmResponseAttributes({ content, usage: completion.usage }));
        return content;
      } catch (error) {
        throw fromOpenAIError(error);
      }
    },
  );
}

/**
 * A readiness check (the shape `@ensemble/service`'s `mountReadiness` takes) that the upstream LLM answers
 * `GET /models`: cheap, and every OpenAI-compatible server has it. Give the client `maxRetries: 0` or
 * a probe waits through the SDK's retries.
 */
export function upstreamReadiness(client: OpenAI, name = 'upstream'): { name: string; check(signal: AbortSignal): Promise<void> } {
  return {
    name,
    async check(signal) {
      try {
        await client.models.list({ signal, maxRetries: 0 });
      } catch (error) {
        throw fromOpenAIError(error, 'upstream GET /models');
      }
    },
  };
}
