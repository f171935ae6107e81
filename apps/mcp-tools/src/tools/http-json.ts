import { EnsembleError, ErrorCode } from '@ensemble/protocol';

export interface FetchJsonOptions {
  /** Names the upstream in errors ("weather service"); never includes keys or full URLs. */
  service: string;
  timeoutMs: number;
  /** The MCP request's signal: the client cancelled or disconnected. */
  signal?: AbortSignal;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: unknown;
}

/**
 * One JSON request to a public API, bounded by a timeout. Every failure becomes an EnsembleError with a
 * message the model can show or act on: timeout (`upstream_timeout`), unreachable (`upstream_unavailable`),
 * an HTTP error or a non-JSON body (`upstream_error`), or cancellation (`cancelled`). Error messages name
 * the host, never the query string, which may carry an API key.
 */
export async function fetchJson(url: URL, options: FetchJsonOptions): Promise<unknown> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  const where = `${options.service} (${url.host})`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: { accept: 'application/json', ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal,
    });
  } catch (error) {
    throw requestError(error, where, timeout, options);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw requestError(error, where, timeout, options);
  }
  if (!response.ok) {
    const detail = upstreamReason(text);
    throw new EnsembleError(
      ErrorCode.UpstreamError,
      `${where} answered HTTP ${response.status}${detail === undefined ? '' : `: ${detail}`}`,
      { details: { status: response.status } },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new EnsembleError(ErrorCode.UpstreamError, `${where} returned a response that is not JSON`, { cause: error });
  }
}

function requestError(error: unknown, where: string, timeout: AbortSignal, options: FetchJsonOptions): EnsembleError {
  if (options.signal?.aborted === true) return new EnsembleError(ErrorCode.Cancelled, `The request to ${where} was cancelled`, { cause: error });
  if (timeout.aborted) {
    return new EnsembleError(ErrorCode.UpstreamTimeout, `${where} did not answer within ${options.timeoutMs} ms; try again later`, { cause: error });
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
  return new EnsembleError(ErrorCode.UpstreamUnavailable, `${where} is unreachable (${cause}); try again later`, { cause: error });
}

/** A short reason from an error body: `{"reason": ...}` (Open-Meteo), `{"error": ...}`, or the text itself. */
function upstreamReason(text: string): string | undefined {
  let reason: unknown = text;
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null) {
      const record = body as Record<string, unknown>;
      reason = record['reason'] ?? record['message'] ?? record['detail'] ?? record['error'];
      if (typeof reason === 'object' && reason !== null) reason = (reason as Record<string, unknown>)['detail'] ?? (reason as Record<string, unknown>)['message'];
    }
  } catch {
    // Not JSON: the raw text (trimmed) is the best reason there is.
  }
  if (typeof reason !== 'string') return undefined;
  const trimmed = reason.replace(/\s+/g, ' ').trim();
  return trimmed === '' ? undefined : trimmed.slice(0, 200);
}
