/**
 * The vector store contract shared by every implementation (in memory, pgvector on PostgreSQL or PGlite).
 * One conformance suite (`conformance.ts`) runs against each of them, so this comment and that suite are
 * the specification.
 */

/** A JSON scalar that metadata filters can match on. */
export type MetadataScalar = string | number | boolean;

/** Free-form JSON metadata attached to documents and chunks (stored as `jsonb` by pgvector). */
export type Metadata = Readonly<Record<string, unknown>>;

/**
 * Equality filter on top-level metadata keys. Every key must match. A scalar matches a metadata value equal
 * to it (JSON equality: `1` never matches `"1"`); an array matches any of its scalars. A key absent from the
 * chunk's metadata never matches. An empty object matches everything.
 */
export type MetadataFilter = Readonly<Record<string, MetadataScalar | readonly MetadataScalar[]>>;

/** The embedding space a store holds: vectors from one model, of one dimension. */
export interface EmbeddingSpace {
  model: string;
  dimension: number;
}

export interface ChunkInput {
  /** The chunk's text as shown to a reader (and to the LLM). */
  content: string;
  /** Embedding of this chunk; its length must equal the store's dimension. */
  embedding: ArrayLike<number>;
  /**
   * Short context searched together with `content` by full-text search (for example the document title and
   * heading path), so a query naming a section finds its paragraphs.
   */
  context?: string;
  /** Location and anything else worth filtering on: heading path, page, char offsets, tags. */
  metadata?: Metadata;
}

export interface DocumentInput {
  /** Stable id chosen by the caller (ingestion uses the source path relative to the corpus root). */
  id: string;
  title: string;
  /** Where the document came from: a path or URL, shown with citations. */
  source: string;
  /**
   * Identifies this exact version of the document (ingestion hashes the file bytes plus the chunking
   * settings). Upserting a document whose stored hash equals this one changes nothing.
   */
  contentHash: string;
  /** Document-level metadata; merged under each chunk's own metadata for filtering and in results. */
  metadata?: Metadata;
  chunks: readonly ChunkInput[];
}

export type UpsertStatus = 'added' | 'updated' | 'unchanged';

export interface UpsertResult {
  documentId: string;
  status: UpsertStatus;
  /** Chunks now stored for the document. */
  chunks: number;
  /** Chunks removed because the document changed (0 when added or unchanged). */
  removedChunks: number;
}

export interface StoredDocumentInfo {
  contentHash: string;
  chunks: number;
}

export interface SearchOptions {
  /** How many hits to return (default 5, at most 1000). */
  k?: number;
  filter?: MetadataFilter;
  /** Restrict to these documents. */
  documentIds?: readonly string[];
  /** HNSW candidate list size for this query (pgvector only; defaults to the store's setting). */
  efSearch?: number;
}

export interface HybridSearchOptions extends SearchOptions {
  /** Candidates taken from each ranking before fusion (default `max(4k, 20)`). */
  candidates?: number;
  /** Reciprocal rank fusion constant (default 60, as in Cormack et al. 2009). */
  rrfK?: number;
}

export interface SearchHit {
  chunkId: string;
  documentId: string;
  /** Position of the chunk in its document, from 0. */
  ordinal: number;
  title: string;
  source: string;
  content: string;
  context: string | undefined;
  /** Document metadata overlaid with the chunk's own metadata (location: headingPath, page, charStart...). */
  metadata: Metadata;
  /**
   * Higher is better, comparable only within one result list. Vector search: cosine similarity in [-1, 1].
   * Text search: the backend's relevance rank (> 0). Hybrid: the fused reciprocal-rank score.
   */
  score: number;
  /** The components behind a hybrid score: each ranking's score and 1-based rank, when the hit was in it. */
  vector?: { score: number; rank: number };
  text?: { score: number; rank: number };
}

export interface StoreStats extends EmbeddingSpace {
  documents: number;
  chunks: number;
}

/**
 * A store of documents split into embedded chunks.
 *
 * - `setup()` must be called once before anything else. It creates or migrates the storage (versioned,
 *   idempotent, safe to race from several processes) and checks that the stored embedding space matches
 *   this store's: a different model or dimension fails with `EnsembleError` code `conflict` (wire code
 *   `embedding_space_mismatch`) whose message names both and how to re-index. Nothing is ever converted.
 * - `reset()` deletes every document and chunk and re-creates the storage for this store's embedding
 *   space. It is the re-index path (`ensemble ingest --reindex`) and works even when `setup()` refused.
 * - `upsert()` is idempotent by `contentHash` per document: same hash, nothing is written and the result
 *   is `unchanged`; a new hash replaces all the document's chunks atomically (readers see the old or the new
 *   chunks, never a mix). Documents are written one at a time, each in its own short transaction, so a batch
 *   interrupted half-way keeps the documents already written. Embeddings of the wrong length are refused
 *   with `invalid_request` before anything is written.
 * - Searches never return more than `k` hits, best first, ties broken by chunk id for stable output. Filters
 *   apply before ranking (a filtered search still returns up to `k` matching hits). Query embeddings of the
 *   wrong length fail with `invalid_request`. Full-text search ranks by term matches with stemming; a query
 *   with no searchable words returns nothing.
 * - Returned objects are copies: mutating them never changes the store.
 * - `close()` releases what the store owns (a pool it created); an injected pool is left open.
 */
export interface VectorStore {
  readonly space: EmbeddingSpace;
  setup(): Promise<void>;
  reset(): Promise<void>;
  upsert(documents: readonly DocumentInput[]): Promise<UpsertResult[]>;
  /** Removes a document and its chunks; false when it did not exist. */
  deleteDocument(documentId: string): Promise<boolean>;
  /** What is stored for each of `documentIds` that exists (lets ingestion skip unchanged files early). */
  documentInfo(documentIds: readonly string[]): Promise<Map<string, StoredDocumentInfo>>;
  /** Every stored document id, sorted (lets ingestion prune documents whose files are gone). */
  documentIds(): Promise<string[]>;
  vectorSearch(embedding: ArrayLike<number>, options?: SearchOptions): Promise<SearchHit[]>;
  textSearch(query: string, options?: SearchOptions): Promise<SearchHit[]>;
  /** Vector and full-text rankings fused by reciprocal rank fusion. */
  hybridSearch(query: { text: string; embedding: ArrayLike<number> }, options?: HybridSearchOptions): Promise<SearchHit[]>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}
