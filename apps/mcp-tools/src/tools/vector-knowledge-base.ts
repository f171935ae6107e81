import { type Embedder, type VectorStore, searchChunks } from '@ensemble/vectors';

import type { KnowledgeBase, KnowledgeBaseHit, KnowledgeBaseSearchOptions } from './knowledge-base.js';

const SNIPPET_CHARS = 600;

/** What the knowledge base needs from an opened store (`openVectorStore` returns a superset). */
export interface SearchableStore {
  store: VectorStore;
  embedder: Embedder;
  close(): Promise<void>;
}

/**
 * The knowledge base backed by the project's vector store (the same store and hybrid search the RAG agent
 * uses). The store is opened on the first search, not at start-up, so the tool server starts fast and a
 * database that is down only fails the searches, with a message the model can act on.
 */
export class VectorKnowledgeBase implements KnowledgeBase {
  private opened: Promise<SearchableStore> | undefined;

  constructor(private readonly open: () => Promise<SearchableStore>) {}

  async search(query: string, options: KnowledgeBaseSearchOptions): Promise<KnowledgeBaseHit[]> {
    const { store, embedder } = await this.store();
    const hits = await searchChunks({ store, embedder }, query, {
      k: options.topK,
      ...(options.filter === undefined ? {} : { filter: options.filter }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return hits.map((hit) => ({
      title: hit.title,
      source: hit.source,
      snippet: hit.content.length > SNIPPET_CHARS ? `${hit.content.slice(0, SNIPPET_CHARS)}…` : hit.content,
      score: hit.score,
    }));
  }

  async close(): Promise<void> {
    if (this.opened !== undefined) await (await this.opened).close();
  }

  private store(): Promise<SearchableStore> {
    if (this.opened === undefined) {
      this.opened = this.open().then(async (opened) => {
        await opened.store.setup();
        return opened;
      });
      // A failed open is retried on the next search instead of being cached forever.
      this.opened.catch(() => (this.opened = undefined));
    }
    return this.opened;
  }
}
