import { type ChatCompletionRequest, EnsembleError, ErrorCode, type RoutingDecision } from '@ensemble/protocol';

export interface OrchestrationRequest {
  request: ChatCompletionRequest;
  /** How the request was routed: the classifier call it cost counts toward the answer's `usage`. */
  decision: RoutingDecision;
  /** From `X-Session-ID`, when the client continues a session. */
  sessionId: string | undefined;
  /**
   * From `Last-Event-ID` (with `X-Session-ID`): the position of the last event the client saw. The
   * response resumes right after it, read from the session's event log.
   */
  lastEventId?: number;
  /** The caller's identity (see `bearerAuth`); sessions are scoped by it. */
  principal: string;
  /** Aborts when the client disconnects. */
  signal: AbortSignal;
}

/**
 * The complex path, behind an interface so the orchestrator client plugs in without touching routing.
 * `handle` answers with a complete OpenAI-compatible response (JSON, or SSE when `request.stream`);
 * the gateway adds its own headers. Failures before the response starts are thrown as `EnsembleError`
 * and rendered as OpenAI error objects.
 */
export interface OrchestrationHandler {
  handle(input: OrchestrationRequest): Promise<Response>;
}

/** Until the orchestrator exists: a 501 that tells the client how to get an answer anyway. */
export class UnavailableOrchestration implements OrchestrationHandler {
  async handle(): Promise<Response> {
    throw new EnsembleError(
      ErrorCode.NotImplemented,
      'This request was routed to multi-agent orchestration, which this gateway does not offer yet. Send "X-Routing-Mode: passthrough" to have the model answer directly.',
      { wireCode: 'orchestration_unavailable' },
    );
  }
}
