import { z } from 'zod';

/**
 * The OpenAI Embeddings request (`POST /v1/embeddings`) as Ensemble's servers accept it (sim-llm serves
 * it). `input` is one text or a batch; token arrays are OpenAI's too but only a server holding the model's
 * tokenizer can read them, so their acceptance is up to the server. Unknown fields are kept (`looseObject`),
 * as OpenAI ignores fields it does not know for forward compatibility of clients.
 */
export const EmbeddingRequest = z.looseObject({
  model: z.string().min(1),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(2048),
    z.array(z.number().int().nonnegative()).min(1),
    z.array(z.array(z.number().int().nonnegative()).min(1)).min(1).max(2048),
  ]),
  /** Shortens the vectors (text-embedding-3 and later). */
  dimensions: z.number().int().min(1).max(16_000).optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
  user: z.string().optional(),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequest>;

export const EmbeddingObject = z.object({
  object: z.literal('embedding'),
  index: z.number().int().nonnegative(),
  /** Floats, or with `encoding_format: base64` the little-endian float32 bytes in base64. */
  embedding: z.union([z.array(z.number()), z.string()]),
});
export type EmbeddingObject = z.infer<typeof EmbeddingObject>;

export const EmbeddingResponse = z.object({
  object: z.literal('list'),
  data: z.array(EmbeddingObject),
  model: z.string(),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative(), total_tokens: z.number().int().nonnegative() }),
});
export type EmbeddingResponse = z.infer<typeof EmbeddingResponse>;
