import { EnsembleError, ErrorCode, SESSION_ID_HEADER } from '@ensemble/protocol';
import type { ServiceEnv } from '@ensemble/service';
import { trace, withLogContext } from '@ensemble/telemetry';
import type { MiddlewareHandler } from 'hono';

/** Session ids are opaque to the gateway but must be safe in logs, headers and Redis keys. */
export const SESSION_ID_PATTERN = /^[\w.:-]{1,128}$/;

/**
 * Accepts `X-Session-ID`, echoes it on the response, and puts `session_id` on every log line and on the
 * request span. A malformed id is a 400: silently dropping it would start a new session instead.
 */
export function sessionHeader(): MiddlewareHandler<ServiceEnv> {
  return async (c, next) => {
    const sessionId = c.req.header(SESSION_ID_HEADER);
    if (sessionId === undefined || sessionId === '') return next();
    if (!SESSION_ID_PATTERN.test(sessionId)) {
      throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid ${SESSION_ID_HEADER}: use 1-128 letters, digits, '_', '-', '.' or ':'`, {
        details: { param: SESSION_ID_HEADER },
        wireCode: 'invalid_session_id',
      });
    }
    c.header(SESSION_ID_HEADER, sessionId);
    trace.getActiveSpan()?.setAttribute('session.id', sessionId);
    // The access-log line is written outside this scope (by `createHttpApp`'s middleware).
    c.var.accessLog['session_id'] = sessionId;
    return withLogContext({ session_id: sessionId }, next);
  };
}
