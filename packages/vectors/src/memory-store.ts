import { EnsembleError, ErrorCode } from '@ensemble/protocol';

import { checkDocuments, checkEmbedding, chunkId, hybridSearchOf, resolveK, sortHits, vectorNorm } from './shared.js';
import { textTerms } from './text-terms.js';
import type {
  DocumentInput,
  EmbeddingSpace,
  HybridSearchOptions,
  Metadata,
  MetadataFilter,
  SearchHit,
  SearchOptions,
  StoredDocumentInfo,
  StoreStats,
  UpsertResult,
  VectorStore,
} from './types.js';

interface MemoryChunk {
  id: string;
  documentId: string;
  ordinal: number;
  content: string;
  context: string | undefined;
  metadata: Metadata;
  embedding: Float32Array;
  norm: number;
  /** Term frequencies of context + content, for full-text search. */
  terms: Map<string, number>;
}

interface MemoryDocument {
  title: string;
  source: string;
  contentHash: string;
  chunks: MemoryChunk[];
}

/**
 * The reference implementation of `VectorStore`: exact (brute-force) cosine search and a small BM25 text
 * ranking over a Map. Meant for tests and small demos; nothing is persisted.
 */
export class InMemoryVectorStore implements VectorStore {
  readonly space: EmbeddingSpace;
  readonly #documents = new Map<string, MemoryDocument>();
  #ready = false;

  constructor(space: EmbeddingSpace) {
    this.space = { model: space.model, dimension: space.dimension };
  }

  async setup(): Promise<void> {
    this.#ready = true;
  }

  async reset(): Promise<void> {
    this.#documents.clear();
    this.#ready = true;
  }

  async upsert(documents: readonly DocumentInput[]): Promise<UpsertResult[]> {
    this.#checkReady();
    checkDocuments(documents, this.space);
    return documents.map((input) => {
      const existing = this.#documents.get(input.id);
      if (existing?.contentHash === input.contentHash) {
        return { documentId: input.id, status: 'unchanged', chunks: existing.chunks.length, removedChunks: 0 };
      }
      const documentMetadata = structuredClone(input.metadata ?? {});
      const chunks = input.chunks.map((chunk, ordinal): MemoryChunk => {
        const embedding = Float32Array.from(chunk.embedding);
        return {
          id: chunkId(input.id, ordinal),
          documentId: input.id,
          ordinal,
          content: chunk.content,
          context: chunk.context,
          metadata: { ...documentMetadata, ...structuredClone(chunk.metadata ?? {}) },
          embedding,
          norm: vectorNorm(embedding),
          terms: countTerms(`${chunk.context ?? ''} ${chunk.content}`),
        };
      });
      this.#documents.set(input.id, { title: input.title, source: input.source, contentHash: input.contentHash, chunks });
      return {
        documentId: input.id,
        status: existing === undefined ? 'added' : 'updated',
        chunks: chunks.length,
        removedChunks: existing?.chunks.length ?? 0,
      };
    });
  }

  async deleteDocument(documentId: string): Promise<boolean> {
    this.#checkReady();
    return this.#documents.delete(documentId);
  }

  async documentInfo(documentIds: readonly string[]): Promise<Map<string, StoredDocumentInfo>> {
    this.#checkReady();
    const info = new Map<string, StoredDocumentInfo>();
    for (const id of documentIds) {
      const document = this.#documents.get(id);
      if (document !== undefined) info.set(id, { contentHash: document.contentHash, chunks: document.chunks.length });
    }
    return info;
  }

  async documentIds(): Promise<string[]> {
    this.#checkReady();
    return [...this.#documents.keys()].sort();
  }

  async vectorSearch(embedding: ArrayLike<number>, options?: SearchOptions): Promise<SearchHit[]> {
    this.#checkReady();
    const k = resolveK(options);
    checkEmbedding(embedding, this.space, 'Query embedding');
    const query = Float32Array.from(embedding);
    const queryNorm = vectorNorm(query);
    const hits: SearchHit[] = [];
    for (const [document, chunk] of this.#matching(options)) {
      let dot = 0;
      for (let index = 0; index < query.length; index += 1) dot += (query[index] ?? 0) * (chunk.embedding[index] ?? 0);
      const denominator = queryNorm * chunk.norm;
      // pgvector defines the cosine distance to a zero vector as NaN; we rank such chunks last instead.
      hits.push(toHit(document, chunk, denominator === 0 ? -1 : dot / denominator));
    }
    return sortHits(hits).slice(0, k);
  }

  async textSearch(query: string, options?: SearchOptions): Promise<SearchHit[]> {
    this.#checkReady();
    const k = resolveK(options);
    const queryTerms = [...new Set(textTerms(query))];
    if (queryTerms.length === 0) return [];
    const candidates = [...this.#matching(options)];
    // BM25 with the usual k1 = 1.2, b = 0.75, over the chunks that pass the filters.
    const averageLength = candidates.reduce((sum, [, chunk]) => sum + termCount(chunk), 0) / Math.max(candidates.length, 1);
    const documentFrequency = new Map<string, number>();
    for (const term of queryTerms) {
      documentFrequency.set(term, candidates.filter(([, chunk]) => chunk.terms.has(term)).length);
    }
    const hits: SearchHit[] = [];
    for (const [document, chunk] of candidates) {
      let score = 0;
      const length = termCount(chunk);
      for (const term of queryTerms) {
        const frequency = chunk.terms.get(term) ?? 0;
        if (frequency === 0) continue;
        const df = documentFrequency.get(term) ?? 0;
        const idf = Math.log(1 + (candidates.length - df + 0.5) / (df + 0.5));
        score += (idf * frequency * 2.2) / (frequency + 1.2 * (0.25 + (0.75 * length) / Math.max(averageLength, 1)));
      }
      if (score > 0) hits.push(toHit(document, chunk, score));
    }
    return sortHits(hits).slice(0, k);
  }

  hybridSearch(query: { text: string; embedding: ArrayLike<number> }, options?: HybridSearchOptions): Promise<SearchHit[]> {
    return hybridSearchOf(this, query, options);
  }

  async stats(): Promise<StoreStats> {
    this.#checkReady();
    let chunks = 0;
    for (const document of this.#documents.values()) chunks += document.chunks.length;
    return { ...this.space, documents: this.#documents.size, chunks };
  }

  async close(): Promise<void> {
    this.#ready = false;
  }

  *#matching(options: SearchOptions | undefined): Generator<[MemoryDocument, MemoryChunk]> {
    const documentIds = options?.documentIds === undefined ? undefined : new Set(options.documentIds);
    for (const [id, document] of this.#documents) {
      if (documentIds !== undefined && !documentIds.has(id)) continue;
      for (const chunk of document.chunks) {
        if (options?.filter === undefined || matchesFilter(chunk.metadata, options.filter)) yield [document, chunk];
      }
    }
  }

  #checkReady(): void {
    if (!this.#ready) throw new EnsembleError(ErrorCode.Unavailable, 'InMemoryVectorStore: call setup() first (or the store was closed)');
  }
}

/** The filter semantics of `MetadataFilter`, for stores that evaluate it in JavaScript. */
export function matchesFilter(metadata: Metadata, filter: MetadataFilter): boolean {
  for (const [key, wanted] of Object.entries(filter)) {
    if (!Object.hasOwn(metadata, key)) return false;
    const value = metadata[key];
    const options: readonly unknown[] = Array.isArray(wanted) ? wanted : [wanted];
    if (!options.includes(value)) return false;
  }
  return true;
}

function countTerms(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of textTerms(text)) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}

function termCount(chunk: MemoryChunk): number {
  let total = 0;
  for (const count of chunk.terms.values()) total += count;
  return total;
}

function toHit(document: MemoryDocument, chunk: MemoryChunk, score: number): SearchHit {
  return {
    chunkId: chunk.id,
    documentId: chunk.documentId,
    ordinal: chunk.ordinal,
    title: document.title,
    source: document.source,
    content: chunk.content,
    context: chunk.context,
    metadata: structuredClone(chunk.metadata),
    score,
  };
}
