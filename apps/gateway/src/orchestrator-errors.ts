import { type A2AClientError, isA2AClientError } from '@ensemble/a2a/client';
import { EnsembleError, ErrorCode, OrchestratorRpcError, SESSION_ID_HEADER } from '@ensemble/protocol';


/**
 * What the client is told when a call to the orchestrator fails before the response started. The
 * orchestrator's own refusals (JSON-RPC codes of `OrchestratorRpcError`) keep their meaning (busy session
 * 409, unknown session 404, invalid request 400); transport failures become 503/504 with a message that
 * says whether the work may have started. The orchestrator's address never reaches the client.
 */
export function orchestratorFailure(error: unknown, sessionId: string | undefined): EnsembleError {
  if (!isA2AClientError(error)) {
    return error instanceof EnsembleError ? error : new EnsembleError(ErrorCode.Internal, 'Orchestration failed', { cause: error });
  }
  const session = sessionId ?? '(new)';
  switch (error.rpcCode) {
    case OrchestratorRpcError.sessionBusy:
      return new EnsembleError(
        ErrorCode.Conflict,
        `Session ${session} is busy: another request is working on it. Re-send with ${SESSION_ID_HEADER} once it is done to get its result.`,
        { cause: error, wireCode: 'session_busy' },
      );
    case OrchestratorRpcError.sessionNotFound:
      return new EnsembleError(ErrorCode.NotFound, refusalText(error) ?? `Session ${session} not found`, { cause: error, wireCode: 'session_not_found' });
    case OrchestratorRpcError.invalidSessionRequest:
      return new EnsembleError(ErrorCode.InvalidRequest, refusalText(error) ?? `The request is not valid for session ${session}`, {
        cause: error,
        wireCode: 'invalid_session_request',
        details: { param: SESSION_ID_HEADER },
      });
    case OrchestratorRpcError.unavailable:
      return unavailable(error, 'The orchestrator cannot reach its session storage right now; retry shortly.');
    default:
      break;
  }
  switch (error.kind) {
    case 'unreachable':
    case 'unavailable':
    case 'circuit_open':
      return unavailable(
        error,
        error.notDelivered
          ? 'The orchestrator is not reachable; the request was not started. Retry shortly.'
          : `The connection to the orchestrator failed; if a session id was returned, re-send with ${SESSION_ID_HEADER} to resume it.`,
      );
    case 'timeout':
      return new EnsembleError(ErrorCode.UpstreamTimeout, 'The orchestrator did not answer in time.', { cause: error, wireCode: 'orchestrator_timeout' });
    case 'aborted':
      return new EnsembleError(ErrorCode.Cancelled, 'The client closed the request.', { cause: error, wireCode: 'client_closed_request' });
    case 'unauthorized':
      // A deployment mistake (the gateway's token is not among the orchestrator's): the operator's to fix,
      // and nothing the client can do differently, hence 503 rather than 4xx.
      return unavailable(error, 'The orchestrator refused the gateway’s credentials; orchestration is unavailable.');
    default:
      return new EnsembleError(ErrorCode.UpstreamError, 'The orchestrator answered with an error.', { cause: error, wireCode: 'orchestrator_error' });
  }
}

function unavailable(cause: A2AClientError, message: string): EnsembleError {
  return new EnsembleError(ErrorCode.UpstreamUnavailable, message, { cause, wireCode: 'orchestrator_unavailable' });
}

/** The orchestrator's own refusal message (the JSON-RPC error's), without the client's `Agent "x":` prefix. */
function refusalText(error: A2AClientError): string | undefined {
  const cause: unknown = error.cause;
  return cause instanceof Error && cause.message !== '' ? cause.message : undefined;
}

/** The refusal codes that mean "this session cannot take the request now", as opposed to a broken link. */
export function isSessionBusy(error: unknown): boolean {
  return isA2AClientError(error) && error.rpcCode === OrchestratorRpcError.sessionBusy;
}
