/**
 * Local errors. Every failure inside Ensemble is an `EnsembleError` with a string `code`; transports map
 * codes to wire formats (OpenAI error objects, A2A JSON-RPC errors) and status codes only at the edge.
 * Never branch on `message` text: branch on `code`.
 */
export const ErrorCode = {
  InvalidRequest: 'invalid_request',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  Conflict: 'conflict',
  PayloadTooLarge: 'payload_too_large',
  RateLimited: 'rate_limited',
  UpstreamError: 'upstream_error',
  UpstreamTimeout: 'upstream_timeout',
  UpstreamUnavailable: 'upstream_unavailable',
  Unavailable: 'unavailable',
  NotImplemented: 'not_implemented',
  Cancelled: 'cancelled',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface EnsembleErrorOptions {
  cause?: unknown;
  /** Status an HTTP edge should answer with; defaults from the code. */
  status?: number;
  /** Machine-readable detail for the wire error (for example the offending field). */
  details?: Record<string, unknown>;
  /** A more specific wire code than `code` (for example `orchestration_unavailable`). */
  wireCode?: string;
}

const DEFAULT_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  upstream_error: 502,
  upstream_timeout: 504,
  upstream_unavailable: 503,
  unavailable: 503,
  not_implemented: 501,
  cancelled: 499,
  internal: 500,
};

export class EnsembleError extends Error {
  override readonly name = 'EnsembleError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly wireCode: string | undefined;

  constructor(code: ErrorCode, message: string, options: EnsembleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? DEFAULT_STATUS[code];
    this.details = options.details;
    this.wireCode = options.wireCode;
  }

  static is(value: unknown, code?: ErrorCode): value is EnsembleError {
    return value instanceof EnsembleError && (code === undefined || value.code === code);
  }
}

/** Wraps anything thrown into an EnsembleError without losing the original as `cause`. */
export function toEnsembleError(value: unknown, fallback: ErrorCode = ErrorCode.Internal): EnsembleError {
  if (value instanceof EnsembleError) return value;
  const message = value instanceof Error ? value.message : 'Unexpected error';
  return new EnsembleError(fallback, message, { cause: value });
}

/** URLs (`http://10.0.0.7:8203/a2a`, ...) as they appear in the SDK's and fetch's messages. */
const URL_PATTERN = /\b[a-z][a-z\d+.-]*:\/\/[^\s"'<>()[\]{}]+/gi;
/**
 * Addresses without a scheme, as socket errors and database drivers write them (`connect ECONNREFUSED
 * 10.0.0.5:5432`, `[::1]:6379`, `db.internal:5432`): IPv4 addresses, bracketed IPv6 ones, and host
 * names with a port.
 */
const HOST_PATTERN = /\[[\da-f:.]+\](?::\d{1,5})?|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b|\b(?:localhost|[a-z\d-]+(?:\.[a-z\d-]+)+):\d{1,5}\b/gi;
/** The host a name lookup failed for (`getaddrinfo ENOTFOUND db.internal`), which has no port to tell it by. */
const LOOKUP_PATTERN = /\b(ENOTFOUND|EAI_AGAIN) [^\s,;)]+/g;

/**
 * `text` with every URL and network address in it replaced by a placeholder. For failure reasons that go
 * on to clients but come from other processes and the libraries under them (an agent's task failure, a
 * driver's or a socket's error): what they say about where things run belongs in the logs only.
 */
export function withoutAddresses(text: string): string {
  return text.replace(URL_PATTERN, '<address withheld>').replace(LOOKUP_PATTERN, '$1 <address withheld>').replace(HOST_PATTERN, '<address withheld>');
}
