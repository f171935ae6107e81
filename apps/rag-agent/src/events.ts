import { TaskState } from '@a2a-js/sdk';
import { AgentEvent } from '@a2a-js/sdk/server';
import { agentMessage } from '@ensemble/a2a';
import { type AgentContext } from '@ensemble/a2a/server';
import { EnsembleMetadataKey } from '@ensemble/openai-a2a';
import type { ReasoningEvent, TokenUsage } from '@ensemble/protocol';

export const AGENT_NAME = 'rag-agent';

/** The pipeline's steps, named in every progress event's metadata (`phase`). */
export type RagPhase = 'rewriting' | 'retrieving' | 'retrieved' | 'answering' | 'answered';

/**
 * Publishes progress as a `working` status update whose message carries an explicit reasoning event
 * (`ensemble.reasoningEvent`), so the gateway shows it to OpenAI clients as it is, attributed to this
 * agent; plain A2A clients read the same words in the message text. The event rides on the message, not
 * the update, so it never lands in the stored task's metadata (a later snapshot does not replay it).
 */
export function publishProgress(
  ctx: Pick<AgentContext, 'taskId' | 'contextId' | 'publish'>,
  phase: RagPhase,
  message: string,
  details: Record<string, unknown> = {},
  usage?: TokenUsage,
): void {
  const event: ReasoningEvent = { type: 'status', agent: AGENT_NAME, message, metadata: { phase, ...details } };
  const metadata: Record<string, unknown> = {
    [EnsembleMetadataKey.reasoningEvent]: event,
    [EnsembleMetadataKey.agent]: AGENT_NAME,
    ...(usage === undefined ? {} : { [EnsembleMetadataKey.usage]: usage }),
  };
  ctx.publish(
    AgentEvent.statusUpdate({
      taskId: ctx.taskId,
      contextId: ctx.contextId,
      status: {
        state: TaskState.TASK_STATE_WORKING,
        message: agentMessage({ taskId: ctx.taskId, contextId: ctx.contextId, text: message, metadata }),
        timestamp: new Date().toISOString(),
      },
      metadata: undefined,
    }),
  );
}
