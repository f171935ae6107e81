// Light barrel: contracts, the in-memory store, the lexical embedder and search helpers. Backends live in
// subpaths: `@ensemble/vectors/pg` (pgvector), `@ensemble/vectors/embedded` (PGlite server),
// `@ensemble/vectors/openai` (remote embeddings), `@ensemble/vectors/lexical` (embedder only).
export type {
  ChunkInput,
  DocumentInput,
  EmbeddingSpace,
  HybridSearchOptions,
  Metadata,
  MetadataFilter,
  MetadataScalar,
  SearchHit,
  SearchOptions,
  StoreStats,
  StoredDocumentInfo,
  UpsertResult,
  UpsertStatus,
  VectorStore,
} from './types.js';
export type { Embedder } from './embedder.js';
export { InMemoryVectorStore, matchesFilter } from './memory-store.js';
export { LEXICAL_DEFAULT_DIMENSION, LEXICAL_MODEL, LexicalEmbedder } from './lexical-embedder.js';
export type { LexicalEmbedderOptions } from './lexical-embedder.js';
export { DEFAULT_RRF_K, MAX_K, reciprocalRankFusion } from './shared.js';
export { vectorStoreReadiness } from './readiness.js';
export { searchChunks } from './search.js';
export type { SearchChunksOptions, SearchMode } from './search.js';
