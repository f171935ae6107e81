/**
 * Turns texts into vectors. Implementations: `LexicalEmbedder` (offline, deterministic, lexical) and
 * `OpenAIEmbedder` (any OpenAI-compatible `/v1/embeddings`, in `@ensemble/vectors/openai`).
 *
 * Contract: `embed(texts)` returns one vector per text, in the same order, each of length `dimension`.
 * `model` and `dimension` identify the embedding space; a vector store refuses to mix spaces.
 */
export interface Embedder {
  readonly model: string;
  readonly dimension: number;
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<number[][]>;
}
