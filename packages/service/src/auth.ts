import { hash, timingSafeEqual } from 'node:crypto';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import type { MiddlewareHandler } from 'hono';

import type { ServiceEnv } from './http-app.js';

/**
 * The caller's identity derived from its bearer token: a short hash, so the token itself never lands in
 * logs, session records or Redis keys. Sessions and A2A tasks are owned by this identity.
 */
export function principalOf(token: string): string {
  return principalOfDigest(sha256(token));
}

/** One-shot: no `Hash` stream object per request, as `createHash` builds. */
function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

function principalOfDigest(digest: Buffer): string {
  return `tok_${digest.toString('hex', 0, 8)}`;
}

/**
 * Bearer-token auth against a fixed list. With an empty list every request passes as `anonymous`
 * (the caller decides whether that is acceptable, e.g. by binding to loopback only).
 */
export function bearerAuth(tokens: readonly string[]): MiddlewareHandler<ServiceEnv> {
  const digests = tokens.map(sha256);
  return async (c, next) => {
    if (digests.length === 0) return next();
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header);
    if (match?.[1] === undefined) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new EnsembleError(ErrorCode.Unauthorized, 'Missing bearer token: send "Authorization: Bearer <token>"', { wireCode: 'missing_api_key' });
    }
    const presented = sha256(match[1].trim());
    if (!digests.some((digest) => timingSafeEqual(digest, presented))) {
      c.header('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new EnsembleError(ErrorCode.Unauthorized, 'Invalid bearer token', { wireCode: 'invalid_api_key' });
    }
    c.set('principal', principalOfDigest(presented));
    return next();
  };
}
