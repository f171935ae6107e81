import { z } from 'zod';

/**
 * Token usage in OpenAI's shape, as carried in A2A event metadata (`ensemble.usage`) and returned in a
 * completion's `usage`. `total_tokens` may be omitted by producers; readers compute it. Extra detail
 * fields (`prompt_tokens_details`, ...) pass through untouched.
 */
export const TokenUsage = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative().optional(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;
