import { TaskState, type Task } from '@a2a-js/sdk';
import { type AgentExecutionEvent, AgentEvent } from '@a2a-js/sdk/server';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';

/**
 * Task metadata key holding the loop's state while a tool call waits for approval. The A2A kit restarts
 * `run` from the top when the answer arrives (possibly on another replica, after a restart), so the
 * conversation so far must travel with the task: re-asking the model would cost tokens and could pick
 * different calls than the ones the person approved. The key is cleared once the step's tools have run.
 */
export const CHECKPOINT_METADATA_KEY = 'ensemble.reasoning.checkpoint';

const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

/** The transcript the loop keeps: text turns plus its own tool calls and results (what it sends the model). */
export const TranscriptMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }),
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({ role: z.literal('assistant'), content: z.string().nullable(), tool_calls: z.array(ToolCallSchema).optional() }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: z.string() }),
]);
export type TranscriptMessage = z.infer<typeof TranscriptMessage>;

export const LoopCheckpoint = z.object({
  version: z.literal(1),
  /** The model turn whose tool calls are pending (1-based). */
  step: z.int().positive(),
  /** Ends with the assistant message that asked for the pending calls. */
  messages: z.array(TranscriptMessage).min(2),
  pending: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })).min(1),
  usage: z.object({ prompt_tokens: z.int(), completion_tokens: z.int(), total_tokens: z.int() }).optional(),
});
export type LoopCheckpoint = z.infer<typeof LoopCheckpoint>;

/** `TranscriptMessage` is a structural subset of the SDK's message params; this keeps the compiler honest about it. */
export function toModelMessages(messages: readonly TranscriptMessage[]): ChatCompletionMessageParam[] {
  return messages.map((message): ChatCompletionMessageParam => message);
}

/**
 * The saved state on a resumed task: `undefined` when there is none (a fresh task), an error string
 * when one is there but unreadable (then the run cannot continue safely).
 */
export function readCheckpoint(task: Task | undefined): LoopCheckpoint | { error: string } | undefined {
  const raw: unknown = task?.metadata?.[CHECKPOINT_METADATA_KEY];
  if (raw === undefined || raw === null) return undefined;
  const parsed = LoopCheckpoint.safeParse(raw);
  return parsed.success ? parsed.data : { error: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') };
}

/**
 * A `working` status update whose metadata stores (or, with `null`, clears) the checkpoint on the task:
 * the SDK merges status-update metadata into the stored task, which is what the kit relies on for answered
 * approvals too. It carries no message, so clients see at most a bare `working` state.
 */
export function checkpointUpdate(ids: { taskId: string; contextId: string }, checkpoint: LoopCheckpoint | null): AgentExecutionEvent {
  return AgentEvent.statusUpdate({
    taskId: ids.taskId,
    contextId: ids.contextId,
    status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: new Date().toISOString() },
    metadata: { [CHECKPOINT_METADATA_KEY]: checkpoint },
  });
}
