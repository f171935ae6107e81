import { z } from 'zod';

/**
 * OpenAI response shapes as Ensemble documents them (OpenAPI) and checks them in tests. Loose objects:
 * upstream providers add fields, and the gateway relays those untouched.
 */
const Usage = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});

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
      }),
      finish_reason: z.string().nullable().optional(),
    }),
  ),
  usage: Usage.nullable().optional(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunk>;

export const ModelList = z.looseObject({
  object: z.literal('list'),
  data: z.array(z.looseObject({ id: z.string(), object: z.literal('model'), created: z.number().int().optional(), owned_by: z.string().optional() })),
});
export type ModelList = z.infer<typeof ModelList>;
