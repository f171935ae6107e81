import { z } from 'zod';

/**
 * Progress shown to the OpenAI client in `choices[0].delta.reasoning_event` of a `chat.completion.chunk`,
 * attributed to the agent (and DAG node) that produced it. Sequence numbers give a stable order when
 * several agents run in parallel.
 */
export const ReasoningEventType = z.enum([
  'planning',
  'plan_ready',
  'node_started',
  'node_completed',
  'node_failed',
  'node_retrying',
  'node_skipped',
  'replanned',
  'thinking',
  'tool_call',
  'tool_result',
  'status',
  'approval_required',
  'approval_decided',
  'synthesis',
  'error',
]);
export type ReasoningEventType = z.infer<typeof ReasoningEventType>;

export const ReasoningEvent = z.object({
  type: ReasoningEventType,
  agent: z.string().optional(),
  node: z.string().optional(),
  step: z.number().int().nonnegative().optional(),
  sequence: z.number().int().nonnegative().optional(),
  message: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type ReasoningEvent = z.infer<typeof ReasoningEvent>;
