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

/** What a bearer-token check found: the caller's principal, or the 401 to answer with its `WWW-Authenticate` challenge. */
export type BearerTokenCheck = (authorization: string | undefined) => { principal: string } | { error: EnsembleError; challenge: string };

/**
 * Checks an `Authorization` header against a fixed list of tokens (compared as SHA-256 digests, in
 * constant time). With an empty list every caller is `anonymous`.
 */
export function bearerTokenCheck(tokens: readonly string[]): BearerTokenCheck {
  const digests = tokens.map(sha256);
  return (authorization) => {
    if (digests.length === 0) return { principal: 'anonymous' };
    const match = authorization === undefined ? null : /^Bearer\s+(.+)$/i.exec(authorization);
    if (match?.[1] === undefined) {
      return {
        error: new EnsembleError(ErrorCode.Unauthorized, 'Missing bearer token: send "Authorization: Bearer <token>"', { wireCode: 'missing_api_key' }),
        challenge: 'Bearer',
      };
    }
    const presented = sha256(match[1].trim());
    if (!digests.some((digest) => timingSafeEqual(digest, presented))) {
      return { error: new EnsembleError(ErrorCode.Unauthorized, 'Invalid bearer token', { wireCode: 'invalid_api_key' }), challenge: 'Bearer error="invalid_token"' };
    }
    return { principal: principalOfDigest(presented) };
  };
}

/**
 * Bearer-token auth against a fixed list (see `bearerTokenCheck`). With an empty list every request passes
 * as `anonymous` (the caller decides whether that is acceptable, e.g. by binding to loopback only).
 */
export function bearerAuth(tokens: readonly string[]): MiddlewareHandler<ServiceEnv> {
  const check = bearerTokenCheck(tokens);
  const open = tokens.length === 0;
  return async (c, next) => {
    if (open) return next();
    const result = check(c.req.header('authorization'));
    if ('error' in result) {
      c.header('WWW-Authenticate', result.challenge);
      throw result.error;
    }
    c.set('principal', result.principal);
    return next();
  };
}
