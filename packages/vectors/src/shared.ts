import { EnsembleError, ErrorCode } from '@ensemble/protocol';

import type { DocumentInput, EmbeddingSpace, HybridSearchOptions, SearchHit, SearchOptions, VectorStore } from './types.js';

export const DEFAULT_K = 5;
export const MAX_K = 1000;
export const DEFAULT_RRF_K = 60;

/** Validates `k` (an integer in 1..MAX_K) and returns it with the default applied. */
export function resolveK(options: SearchOptions | undefined): number {
  const k = options?.k ?? DEFAULT_K;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `k must be an integer between 1 and ${MAX_K} (got ${k})`, { details: { field: 'k' } });
  }
  return k;
}

export function resolveCandidates(options: HybridSearchOptions | undefined, k: number): number {
  const candidates = options?.candidates ?? Math.max(4 * k, 20);
  if (!Number.isInteger(candidates) || candidates < k || candidates > MAX_K) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `candidates must be an integer between k and ${MAX_K} (got ${candidates})`, {
      details: { field: 'candidates' },
    });
  }
  return candidates;
}

/** Refuses a vector whose length differs from the store's dimension, or that holds a non-finite number. */
export function checkEmbedding(embedding: ArrayLike<number>, space: EmbeddingSpace, what: string): void {
  if (embedding.length !== space.dimension) {
    throw new EnsembleError(
      ErrorCode.InvalidRequest,
      `${what} has dimension ${embedding.length}, but this store holds ${space.model} embeddings of dimension ${space.dimension}`,
      { wireCode: 'embedding_dimension_mismatch', details: { expected: space.dimension, got: embedding.length } },
    );
  }
  for (let index = 0; index < embedding.length; index += 1) {
    if (!Number.isFinite(embedding[index])) {
      throw new EnsembleError(ErrorCode.InvalidRequest, `${what} contains a non-finite number at index ${index}`);
    }
  }
}

/** Checks a whole batch before anything is written, so a bad document never leaves a half-written batch. */
export function checkDocuments(documents: readonly DocumentInput[], space: EmbeddingSpace): void {
  const seen = new Set<string>();
  for (const document of documents) {
    if (document.id.length === 0) throw new EnsembleError(ErrorCode.InvalidRequest, 'Document id must not be empty');
    if (seen.has(document.id)) {
      throw new EnsembleError(ErrorCode.InvalidRequest, `Document ${document.id} appears twice in one upsert`);
    }
    seen.add(document.id);
    document.chunks.forEach((chunk, index) => checkEmbedding(chunk.embedding, space, `Chunk ${index} of ${document.id}`));
  }
}

/** The id of a document's chunk: stable for a given document and position. */
export function chunkId(documentId: string, ordinal: number): string {
  return `${documentId}#${ordinal}`;
}

/** The error `setup()` raises when the stored embedding space is not this store's. */
export function spaceMismatchError(where: string, stored: EmbeddingSpace, wanted: EmbeddingSpace): EnsembleError {
  return new EnsembleError(
    ErrorCode.Conflict,
    `${where} was indexed with embedding model "${stored.model}" (dimension ${stored.dimension}), but this process embeds with ` +
      `"${wanted.model}" (dimension ${wanted.dimension}). Vectors from different models cannot be compared. Either set ` +
      `EMBEDDING_MODEL=${stored.model} EMBEDDING_DIMENSION=${stored.dimension} to use the existing index, or re-index with ` +
      `\`npx ensemble ingest --reindex <paths>\` (deletes the stored chunks and embeds everything again with the new model).`,
    { wireCode: 'embedding_space_mismatch', details: { stored, wanted } },
  );
}

/**
 * Reciprocal rank fusion: each list contributes `1 / (rrfK + rank)` for every hit it holds (rank from 1),
 * so documents ranked well by both lists rise to the top without comparing scores of different scales.
 */
export function reciprocalRankFusion(vectorHits: readonly SearchHit[], textHits: readonly SearchHit[], k: number, rrfK = DEFAULT_RRF_K): SearchHit[] {
  const fused = new Map<string, SearchHit>();
  const add = (hits: readonly SearchHit[], which: 'vector' | 'text') => {
    hits.forEach((hit, index) => {
      const rank = index + 1;
      const existing = fused.get(hit.chunkId);
      const base: SearchHit = existing ?? { ...hit, score: 0, vector: undefined, text: undefined };
      base.score += 1 / (rrfK + rank);
      base[which] = { score: hit.score, rank };
      fused.set(hit.chunkId, base);
    });
  };
  add(vectorHits, 'vector');
  add(textHits, 'text');
  for (const hit of fused.values()) {
    if (hit.vector === undefined) delete hit.vector;
    if (hit.text === undefined) delete hit.text;
  }
  return sortHits([...fused.values()]).slice(0, k);
}

/** Best first; ties broken by chunk id so equal scores come out in a stable order. */
export function sortHits(hits: SearchHit[]): SearchHit[] {
  return hits.sort((a, b) => b.score - a.score || (a.chunkId < b.chunkId ? -1 : a.chunkId > b.chunkId ? 1 : 0));
}

export function vectorNorm(vector: ArrayLike<number>): number {
  let sum = 0;
  for (let index = 0; index < vector.length; index += 1) sum += (vector[index] ?? 0) ** 2;
  return Math.sqrt(sum);
}

/**
 * `VectorStore.hybridSearch` for every implementation: the store's own vector and full-text searches, each
 * asked for the candidate count, fused by reciprocal rank. Stores differ only in how they run the two.
 */
export async function hybridSearchOf(
  store: Pick<VectorStore, 'vectorSearch' | 'textSearch'>,
  query: { text: string; embedding: ArrayLike<number> },
  options?: HybridSearchOptions,
): Promise<SearchHit[]> {
  const k = resolveK(options);
  const candidates = resolveCandidates(options, k);
  const [vectorHits, textHits] = await Promise.all([
    store.vectorSearch(query.embedding, { ...options, k: candidates }),
    store.textSearch(query.text, { ...options, k: candidates }),
  ]);
  return reciprocalRankFusion(vectorHits, textHits, k, options?.rrfK);
}
