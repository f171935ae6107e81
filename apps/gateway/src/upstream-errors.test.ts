import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';

import { describeUpstreamFailure } from './upstream-errors.js';

const options = { timeoutMs: 1_500 };

function fetchFailure(code: string): Error {
  // What undici's fetch throws: `TypeError: fetch failed` with the socket error as its cause.
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code }) });
}

describe('describeUpstreamFailure', () => {
  it('keeps an upstream HTTP error: status, body (extra fields included) and back-off headers', () => {
    const headers = new Headers({ 'retry-after': '7', 'x-ratelimit-remaining-requests': '0', 'x-request-id': 'up-1', 'set-cookie': 'secret=1' });
    const error = OpenAI.APIError.generate(429, { error: { message: 'Slow down', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded', extra: 1 } }, undefined, headers);
    expect(describeUpstreamFailure(error, options)).toEqual({
      status: 429,
      body: { error: { message: 'Slow down', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded', extra: 1 } },
      headers: { 'retry-after': '7', 'x-ratelimit-remaining-requests': '0', 'x-upstream-request-id': 'up-1' },
      code: ErrorCode.RateLimited,
      clientGone: false,
    });
  });

  it('fills the OpenAI error fields an upstream left out, and stringifies numeric codes', () => {
    const error = OpenAI.APIError.generate(400, { error: { message: 'bad', code: 42 } }, undefined, new Headers());
    expect(describeUpstreamFailure(error, options).body).toEqual({ error: { message: 'bad', type: 'upstream_error', param: null, code: '42' } });
  });

  it('writes its own error object when the upstream body is not an OpenAI error', () => {
    const error = OpenAI.APIError.generate(502, undefined, '<html>Bad Gateway</html>', new Headers());
    const failure = describeUpstreamFailure(error, options);
    expect(failure.status).toBe(502);
    expect(failure.body.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' });
    expect(failure.body.error.message).not.toContain('<html>');
  });

  it('maps an error event inside a started stream (no status) to 502 with the upstream error object', () => {
    const error = new OpenAI.APIError(undefined, { message: 'model overloaded', type: 'server_error' }, undefined, undefined);
    expect(describeUpstreamFailure(error, options)).toMatchObject({ status: 502, body: { error: { message: 'model overloaded', type: 'server_error' } } });
  });

  it('maps timeouts to 504 naming the limit', () => {
    const failure = describeUpstreamFailure(new OpenAI.APIConnectionTimeoutError(), options);
    expect(failure).toMatchObject({ status: 504, code: ErrorCode.UpstreamTimeout, body: { error: { type: 'timeout_error', code: 'upstream_timeout' } } });
    expect(failure.body.error.message).toContain('1500 ms');
  });

  it('maps refused connections to 503 and other connection failures to 502', () => {
    expect(describeUpstreamFailure(new OpenAI.APIConnectionError({ cause: fetchFailure('ECONNREFUSED') }), options)).toMatchObject({
      status: 503,
      body: { error: { code: 'upstream_unavailable', message: 'The upstream LLM is unreachable (ECONNREFUSED)' } },
    });
    expect(describeUpstreamFailure(new OpenAI.APIConnectionError({ cause: fetchFailure('ECONNRESET') }), options)).toMatchObject({
      status: 502,
      body: { error: { code: 'upstream_error' } },
    });
    expect(describeUpstreamFailure(new OpenAI.APIConnectionError({ cause: new Error('weird') }), options).status).toBe(502);
  });

  it('marks an aborted call as the client leaving', () => {
    expect(describeUpstreamFailure(new OpenAI.APIUserAbortError(), options)).toMatchObject({ clientGone: true, status: 499 });
  });

  it('treats a body that breaks mid-way as a 502 without leaking the low-level message', () => {
    const failure = describeUpstreamFailure(new TypeError('terminated: other side closed 10.0.0.7'), options);
    expect(failure).toMatchObject({ status: 502, code: ErrorCode.UpstreamError });
    expect(failure.body.error.message).not.toContain('10.0.0.7');
  });

  it('renders our own errors with their status and wire code', () => {
    const failure = describeUpstreamFailure(new EnsembleError(ErrorCode.NotImplemented, 'nope', { wireCode: 'orchestration_unavailable' }), options);
    expect(failure).toMatchObject({ status: 501, body: { error: { code: 'orchestration_unavailable', message: 'nope' } } });
  });
});
