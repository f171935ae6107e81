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

/** What one LLM call spent, as any OpenAI-shaped usage object (SDK `CompletionUsage` included) has it. */
export interface TokenCounts {
  prompt_tokens: number;
  completion_tokens: number;
}

/** Prompt, completion and total tokens, all present: what a sum of usages reports. */
export interface TokenTotals {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/**
 * The sum of usages (`undefined` entries skipped), counting only prompt and completion tokens (their
 * sum is the total). `undefined` when there was nothing to add, so "no LLM call" stays distinguishable
 * from "calls that cost 0 tokens".
 */
export function sumTokenUsage(...usages: readonly (TokenCounts | null | undefined)[]): TokenTotals | undefined {
  let sum: TokenTotals | undefined;
  for (const usage of usages) {
    if (usage === undefined || usage === null) continue;
    sum ??= { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
    sum.prompt_tokens += usage.prompt_tokens;
    sum.completion_tokens += usage.completion_tokens;
    sum.total_tokens = sum.prompt_tokens + sum.completion_tokens;
  }
  return sum;
}
