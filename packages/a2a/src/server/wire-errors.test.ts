import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { withTrailingSlash } from './transports.js';
import { a2aBindingOf, jsonRpcTransportError, restTransportError } from './wire-errors.js';

describe('a2aBindingOf', () => {
  it('puts HTTP+JSON paths in the REST format, every other /a2a path in JSON-RPC, and leaves the rest alone', () => {
    expect(a2aBindingOf('/a2a/rest')).toBe('rest');
    expect(a2aBindingOf('/a2a/rest/')).toBe('rest');
    expect(a2aBindingOf('/a2a/rest/tasks/x:cancel')).toBe('rest');
    expect(a2aBindingOf('/a2a/jsonrpc')).toBe('jsonrpc');
    expect(a2aBindingOf('/a2a/jsonrpc/')).toBe('jsonrpc');
    expect(a2aBindingOf('/a2a/grpc')).toBe('jsonrpc');
    expect(a2aBindingOf('/a2a')).toBe('jsonrpc');
    expect(a2aBindingOf('/a2a/restless')).toBe('jsonrpc');
    expect(a2aBindingOf('/a2ax')).toBeUndefined();
    expect(a2aBindingOf('/health')).toBeUndefined();
    expect(a2aBindingOf('/.well-known/agent-card.json')).toBeUndefined();
  });
});

describe('transport errors', () => {
  it('are JSON-RPC error objects with integer codes: -32601 for no route, -32603 for failures, -32600 otherwise', () => {
    const body = (error: EnsembleError) => jsonRpcTransportError(error) as { jsonrpc: string; id: null; error: { code: number; message: string } };
    expect(body(new EnsembleError(ErrorCode.NotFound, 'No route'))).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32601, message: 'No route' } });
    expect(body(new EnsembleError(ErrorCode.PayloadTooLarge, 'too big')).error.code).toBe(-32600);
    expect(body(new EnsembleError(ErrorCode.Unauthorized, 'no token')).error.code).toBe(-32600);
    expect(body(new EnsembleError(ErrorCode.InvalidRequest, 'GET', { status: 405 })).error.code).toBe(-32600);
    const internal = body(new EnsembleError(ErrorCode.Internal, 'password=hunter2 at db.ts:12'));
    expect(internal.error).toMatchObject({ code: -32603, message: 'Internal error' });
  });

  it('are AIP-193 errors with the HTTP status, its google.rpc.Code name and an ErrorInfo', () => {
    expect(restTransportError(new EnsembleError(ErrorCode.PayloadTooLarge, 'too big'))).toEqual({
      error: {
        code: 413,
        status: 'INVALID_ARGUMENT',
        message: 'too big',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'PAYLOAD_TOO_LARGE', domain: 'ensemble', metadata: {} }],
      },
    });
    expect(restTransportError(new EnsembleError(ErrorCode.Unauthorized, 'no token'))).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    expect(restTransportError(new EnsembleError(ErrorCode.Unavailable, 'draining'))).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
    expect(restTransportError(new EnsembleError(ErrorCode.Internal, 'secret'))).toMatchObject({ error: { code: 500, status: 'INTERNAL', message: 'Internal error' } });
  });
});

describe('withTrailingSlash', () => {
  it('lists a path without and with its trailing slash', () => {
    expect(withTrailingSlash('/a2a/jsonrpc')).toEqual(['/a2a/jsonrpc', '/a2a/jsonrpc/']);
    expect(withTrailingSlash('/a2a/jsonrpc/')).toEqual(['/a2a/jsonrpc', '/a2a/jsonrpc/']);
  });
});
