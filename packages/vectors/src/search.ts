import { EnsembleError, ErrorCode } from '@ensemble/protocol';

import type { Embedder } from './embedder.js';
import type { HybridSearchOptions, SearchHit, VectorStore } from './types.js';

export type SearchMode = 'hybrid' | 'vector' | 'text';

export interface SearchChunksOptions extends HybridSearchOptions {
  /** Default `hybrid`. */
  mode?: SearchMode;
  signal?: AbortSignal;
}

/**
 * Answers a natural-language query from a store: embeds it with `embedder` (which must produce the store's
 * embedding space) and runs the chosen search. Hits carry document id, title, source, chunk ordinal and
 * location metadata (`headingPath`, `page`, `charStart`, `charEnd` when ingested by `@ensemble/ingest`).
 */
export async function searchChunks(
  deps: { store: VectorStore; embedder: Embedder },
  query: string,
  options: SearchChunksOptions = {},
): Promise<SearchHit[]> {
  const { store, embedder } = deps;
  if (embedder.model !== store.space.model || embedder.dimension !== store.space.dimension) {
    throw new EnsembleError(
      ErrorCode.Conflict,
      `Embedder ${embedder.model} (dimension ${embedder.dimension}) does not match the store's ${store.space.model} (dimension ${store.space.dimension})`,
      { wireCode: 'embedding_space_mismatch' },
    );
  }
  const { mode = 'hybrid', signal, ...searchOptions } = options;
  if (mode === 'text') return store.textSearch(query, searchOptions);
  const [embedding] = await embedder.embed([query], signal === undefined ? {} : { signal });
  if (embedding === undefined) throw new EnsembleError(ErrorCode.UpstreamError, `Embedder ${embedder.model} returned no vector for the query`);
  if (mode === 'vector') return store.vectorSearch(embedding, searchOptions);
  return store.hybridSearch({ text: query, embedding }, searchOptions);
}
