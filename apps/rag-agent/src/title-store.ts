import type {
  DocumentInput,
  EmbeddingSpace,
  HybridSearchOptions,
  SearchHit,
  SearchOptions,
  StoreStats,
  StoredDocumentInfo,
  UpsertResult,
  VectorStore,
} from '@ensemble/vectors';

/**
 * A view of `store` that stores the given titles for the given document ids instead of the ones the
 * parser found. `ingest()` takes each document's title from its content (the first heading, `<title>`,
 * the file name); an upload can name a better one. Everything else passes straight through, and
 * `close()` leaves the shared store open.
 */
export function withTitles(store: VectorStore, titles: ReadonlyMap<string, string>): VectorStore {
  if (titles.size === 0) return store;
  return new TitledStore(store, titles);
}

class TitledStore implements VectorStore {
  constructor(
    private readonly inner: VectorStore,
    private readonly titles: ReadonlyMap<string, string>,
  ) {}

  get space(): EmbeddingSpace {
    return this.inner.space;
  }

  setup(): Promise<void> {
    return this.inner.setup();
  }

  reset(): Promise<void> {
    return this.inner.reset();
  }

  upsert(documents: readonly DocumentInput[]): Promise<UpsertResult[]> {
    return this.inner.upsert(documents.map((document) => ({ ...document, title: this.titles.get(document.id) ?? document.title })));
  }

  deleteDocument(documentId: string): Promise<boolean> {
    return this.inner.deleteDocument(documentId);
  }

  documentInfo(documentIds: readonly string[]): Promise<Map<string, StoredDocumentInfo>> {
    return this.inner.documentInfo(documentIds);
  }

  vectorSearch(embedding: ArrayLike<number>, options?: SearchOptions): Promise<SearchHit[]> {
    return this.inner.vectorSearch(embedding, options);
  }

  textSearch(query: string, options?: SearchOptions): Promise<SearchHit[]> {
    return this.inner.textSearch(query, options);
  }

  hybridSearch(query: { text: string; embedding: ArrayLike<number> }, options?: HybridSearchOptions): Promise<SearchHit[]> {
    return this.inner.hybridSearch(query, options);
  }

  stats(): Promise<StoreStats> {
    return this.inner.stats();
  }

  async close(): Promise<void> {
    // The wrapped store belongs to the service, not to one request.
  }
}
