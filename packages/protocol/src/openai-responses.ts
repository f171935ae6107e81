import { z } from 'zod';

import { ReasoningEvent } from './reasoning-event.js';

/**
 * OpenAI response shapes as Ensemble documents them (OpenAPI) and checks them in tests. Loose objects:
 * upstream providers add fields, and the gateway relays those untouched.
 */
const Usage = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});

/** Orchestrated answers only: the agents' progress, as data and as text for chat UIs that show thinking. */
const reasoningText = {
  reasoning_content: z
    .string()
    .optional()
    .describe('Orchestrated answers: each progress event as one line of text ending in a newline (DeepSeek/vLLM style; ORCHESTRATION_REASONING_FIELD).'),
  reasoning: z.string().optional().describe('As reasoning_content, when ORCHESTRATION_REASONING_FIELD=reasoning (OpenRouter/Ollama style).'),
};

const ToolCall = z.looseObject({
  id: z.string(),
  type: z.string(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }).optional(),
});

export const ChatCompletionResponse = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int().nonnegative(),
      message: z.looseObject({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        tool_calls: z.array(ToolCall).optional(),
        reasoning_events: z.array(ReasoningEvent).optional().describe('Orchestrated answers: every progress event of the workflow, in order.'),
        ...reasoningText,
      }),
      finish_reason: z.string().nullable(),
    }),
  ),
  usage: Usage.nullable().optional(),
});
export type ChatCompletionResponse = z.infer<typeof ChatCompletionResponse>;

/** One `data:` event of a streamed completion; the stream ends with `data: [DONE]`. */
export const ChatCompletionChunk = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion.chunk'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int().nonnegative(),
      delta: z.looseObject({
        role: z.string().optional(),
        content: z.string().nullable().optional(),
        tool_calls: z.array(z.looseObject({ index: z.number().int() })).optional(),
        reasoning_event: ReasoningEvent.optional().describe('Orchestrated answers: one progress event, attributed to its agent and DAG node, with a sequence that increases through the response (from 0, with gaps: its position in the session event log).'),
        ...reasoningText,
      }),
      finish_reason: z.string().nullable().optional(),
    }),
  ),
  usage: Usage.nullable().optional().describe('With stream_options.include_usage: on one extra last chunk with empty choices. Orchestrated answers count every LLM call of the request.'),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunk>;

export const ModelList = z.looseObject({
  object: z.literal('list'),
  data: z.array(z.looseObject({ id: z.string(), object: z.literal('model'), created: z.number().int().optional(), owned_by: z.string().optional() })),
});
export type ModelList = z.infer<typeof ModelList>;
