import { EnsembleError, ErrorCode, OpenAIErrorBodySchema, type OpenAIErrorBody, toOpenAIErrorBody } from '@ensemble/protocol';
import OpenAI from 'openai';

/**
 * What the client gets when the upstream LLM call fails: a status, an OpenAI error body, and the
 * upstream headers a client needs to back off (`retry-after`, rate-limit budget).
 */
export interface UpstreamFailure {
  status: number;
  /** The upstream's own error object when it sent one (extra fields kept), else ours. */
  body: { error: OpenAIErrorBody['error'] & Record<string, unknown> };
  headers: Record<string, string>;
  /** Our classification, for logs and span attributes. */
  code: ErrorCode;
  /** True when the client itself went away: there is nobody to answer. */
  clientGone: boolean;
}

/** Connection failures that mean "nothing is listening there" (503) rather than "the exchange broke" (502). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** Upstream response headers worth relaying on errors: the ones that tell a client when to retry. */
const RELAYED_HEADERS = /^(retry-after|retry-after-ms|x-ratelimit-[\w-]+)$/;

/**
 * Maps anything the upstream call threw (an `openai` SDK error, a broken stream, our own error) to the
 * response the client gets. HTTP errors keep the upstream's status and body, so a client talking to the
 * gateway sees what it would have seen talking to the provider. Network trouble becomes 502/503/504.
 */
export function describeUpstreamFailure(error: unknown, options: { timeoutMs: number }): UpstreamFailure {
  if (error instanceof OpenAI.APIUserAbortError) {
    return ours(new EnsembleError(ErrorCode.Cancelled, 'The client closed the request'), { clientGone: true });
  }
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return ours(new EnsembleError(ErrorCode.UpstreamTimeout, `The upstream LLM did not respond within ${options.timeoutMs} ms`));
  }
  if (error instanceof OpenAI.APIConnectionError) {
    const cause = errorCodeInChain(error);
    return cause !== undefined && UNREACHABLE.has(cause)
      ? ours(new EnsembleError(ErrorCode.UpstreamUnavailable, `The upstream LLM is unreachable (${cause})`))
      : ours(new EnsembleError(ErrorCode.UpstreamError, `The connection to the upstream LLM failed${cause === undefined ? '' : ` (${cause})`}`));
  }
  if (error instanceof OpenAI.APIError) {
    // `instanceof` on the generic class loses its type parameters; restate them.
    const upstream: { status: number | undefined; headers: Headers | undefined; error: object | undefined } = error;
    // `status` is undefined for an error event inside a stream that had already started with 200.
    const status = upstream.status !== undefined && upstream.status >= 400 && upstream.status <= 599 ? upstream.status : 502;
    const parsed = OpenAIErrorBodySchema.safeParse({ error: upstream.error });
    const body = parsed.success
      ? { error: { ...parsed.data.error, type: parsed.data.error.type ?? 'upstream_error', param: parsed.data.error.param ?? null, code: stringCode(parsed.data.error.code) } }
      : toOpenAIErrorBody(new EnsembleError(ErrorCode.UpstreamError, `The upstream LLM failed with HTTP ${upstream.status ?? 'error'} and no OpenAI error body`));
    return {
      status,
      body,
      headers: relayedHeaders(upstream.headers),
      code: status === 429 ? ErrorCode.RateLimited : status >= 500 ? ErrorCode.UpstreamError : ErrorCode.InvalidRequest,
      clientGone: false,
    };
  }
  if (error instanceof EnsembleError) return ours(error);
  // A body that breaks mid-way (`TypeError: terminated`) or an unparseable SSE event: the exchange broke.
  return ours(new EnsembleError(ErrorCode.UpstreamError, 'The upstream LLM connection broke before the response was complete', { cause: error }));
}

function ours(error: EnsembleError, extra: { clientGone?: boolean } = {}): UpstreamFailure {
  return { status: error.status, body: toOpenAIErrorBody(error), headers: {}, code: error.code, clientGone: extra.clientGone ?? false };
}

function stringCode(code: string | number | null | undefined): string | null {
  if (code === null || code === undefined) return null;
  return String(code);
}

function relayedHeaders(headers: Headers | undefined): Record<string, string> {
  const relayed: Record<string, string> = {};
  if (headers === undefined) return relayed;
  for (const [name, value] of headers) {
    if (RELAYED_HEADERS.test(name)) relayed[name] = value;
  }
  const requestId = headers.get('x-request-id');
  if (requestId !== null) relayed['x-upstream-request-id'] = requestId;
  return relayed;
}

/** The first `code` (ECONNREFUSED, ...) along an error's cause chain; fetch nests it two levels deep. */
function errorCodeInChain(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (current instanceof AggregateError) {
      const nested: unknown = current.errors[0];
      if (nested instanceof Error && typeof (nested as Error & { code?: unknown }).code === 'string') return (nested as Error & { code: string }).code;
    }
    current = current.cause;
  }
  return undefined;
}
