import { maxOrchestrationMessageBytes, orchestrationMessageBytes } from '@ensemble/openai-a2a';
import { type ChatCompletionRequest, EnsembleError, ErrorCode, messageText, ROUTING_MODE_HEADER } from '@ensemble/protocol';

/**
 * Refuses, before anything is sent, a request the orchestration path cannot take, with the 4xx the
 * client can act on (rather than the planner's refusal or an agent's 413 coming back as a 502):
 * - a new workflow needs a user turn with text: the planner plans the last user turn, and an empty,
 *   blank or image-only one gives it nothing to plan. A request that continues a session
 *   (`X-Session-ID`) is exempt: the session already has its request, and the new turn may be an
 *   approval answer or a re-attach;
 * - the conversation must fit in what every agent accepts (`agentMaxBodyBytes`, the agents' shared
 *   `A2A_MAX_BODY_BYTES`), counting the copies the orchestrator forwards (`orchestrationMessageBytes`).
 */
export function assertOrchestrable(request: ChatCompletionRequest, options: { sessionId: string | undefined; agentMaxBodyBytes: number }): void {
  if (options.sessionId === undefined) {
    const lastUser = request.messages.findLast((message) => message.role === 'user');
    if (lastUser === undefined || messageText(lastUser.content).trim() === '') {
      throw new EnsembleError(
        ErrorCode.InvalidRequest,
        lastUser === undefined
          ? `The request has no user message: multi-agent orchestration plans the last user message. Add one, or send "${ROUTING_MODE_HEADER}: passthrough" to have the model answer directly.`
          : 'The last user message has no text: multi-agent orchestration plans the text of the last user message, and this one is empty, blank or has only non-text parts.',
        { wireCode: 'no_user_text', details: { param: 'messages' } },
      );
    }
  }
  const limit = maxOrchestrationMessageBytes(options.agentMaxBodyBytes);
  const size = orchestrationMessageBytes(request);
  if (size > limit) {
    throw new EnsembleError(
      ErrorCode.PayloadTooLarge,
      `The conversation is too large for multi-agent orchestration: the agents would receive ${size} bytes of it, and accept at most ${limit} (A2A_MAX_BODY_BYTES). Shorten it, or send "${ROUTING_MODE_HEADER}: passthrough" to have the model answer directly.`,
      { wireCode: 'conversation_too_large', details: { param: 'messages', size, limit } },
    );
  }
}
