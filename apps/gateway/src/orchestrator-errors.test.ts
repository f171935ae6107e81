import { A2AClientError } from '@ensemble/a2a/client';
import { EnsembleError, ErrorCode, OrchestratorRpcError, toOpenAIErrorBody } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { isSessionBusy, orchestratorFailure } from './orchestrator-errors.js';

const target = { agent: 'orchestrator', url: 'http://10.0.0.7:8001' };

function refusal(rpcCode: number, message: string): A2AClientError {
  return new A2AClientError('protocol', message, { ...target, rpcCode, cause: new Error(message) });
}

describe('orchestratorFailure', () => {
  it('keeps the orchestrator’s session refusals as 409, 404 and 400', () => {
    const busy = orchestratorFailure(refusal(OrchestratorRpcError.sessionBusy, 'Session s-1 is busy'), 's-1');
    expect(busy).toMatchObject({ code: ErrorCode.Conflict, status: 409, wireCode: 'session_busy' });
    expect(busy.message).toContain('X-Session-ID');
    expect(isSessionBusy(refusal(OrchestratorRpcError.sessionBusy, 'busy'))).toBe(true);

    const missing = orchestratorFailure(refusal(OrchestratorRpcError.sessionNotFound, 'Session s-2 not found (it may have expired)'), 's-2');
    expect(missing).toMatchObject({ status: 404, wireCode: 'session_not_found', message: 'Session s-2 not found (it may have expired)' });

    const invalid = orchestratorFailure(refusal(OrchestratorRpcError.invalidSessionRequest, 'No approval is pending'), 's-3');
    expect(invalid).toMatchObject({ status: 400, wireCode: 'invalid_session_request', message: 'No approval is pending' });
    expect(toOpenAIErrorBody(invalid).error.param).toBe('X-Session-ID');

    expect(orchestratorFailure(refusal(OrchestratorRpcError.unavailable, 'redis down'), 's-4')).toMatchObject({ status: 503, wireCode: 'orchestrator_unavailable' });
  });

  it('turns transport failures into 503/504/499 without revealing where the orchestrator is', () => {
    const refused = orchestratorFailure(new A2AClientError('unreachable', 'cannot connect to http://10.0.0.7:8001 (ECONNREFUSED)', { ...target, notDelivered: true }), undefined);
    expect(refused).toMatchObject({ status: 503, wireCode: 'orchestrator_unavailable' });
    expect(refused.message).toMatch(/not started/);
    expect(toOpenAIErrorBody(refused).error.message).not.toContain('10.0.0.7');

    const reset = orchestratorFailure(new A2AClientError('unreachable', 'connection failed', target), 's-5');
    expect(reset.message).toMatch(/resume/);
    expect(orchestratorFailure(new A2AClientError('circuit_open', 'open', { ...target, notDelivered: true }), undefined).status).toBe(503);
    expect(orchestratorFailure(new A2AClientError('timeout', 'no answer', target), undefined)).toMatchObject({ status: 504, wireCode: 'orchestrator_timeout' });
    expect(orchestratorFailure(new A2AClientError('aborted', 'aborted', target), undefined).status).toBe(499);
    expect(orchestratorFailure(new A2AClientError('unauthorized', 'HTTP 401', target), undefined)).toMatchObject({ status: 503, wireCode: 'orchestrator_unavailable' });
    expect(orchestratorFailure(new A2AClientError('protocol', 'garbage', target), undefined)).toMatchObject({ status: 502, wireCode: 'orchestrator_error' });
  });

  it('passes local errors through and hides unknown ones', () => {
    const local = new EnsembleError(ErrorCode.InvalidRequest, 'bad');
    expect(orchestratorFailure(local, undefined)).toBe(local);
    const unknown = orchestratorFailure(new Error('secret internals'), undefined);
    expect(unknown.status).toBe(500);
    expect(toOpenAIErrorBody(unknown).error.message).toBe('Internal server error');
  });
});
