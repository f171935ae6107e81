import { EnsembleError, ErrorCode } from '@ensemble/protocol';

export interface KnowledgeBaseHit {
  title: string;
  /** Where the passage comes from: a URL or a document path, for citations. */
  source: string;
  snippet: string;
  /** Relevance, higher is better; comparable within one result list only. */
  score: number;
}

export interface KnowledgeBaseSearchOptions {
  topK: number;
  /** Metadata equality filter (e.g. `{ collection: "handbook" }`); semantics are the backend's. */
  filter?: Record<string, string | number | boolean>;
  signal?: AbortSignal;
}

/**
 * The project's knowledge base as the `knowledge_base_search` tool sees it. Implementations (the vector
 * store adapter) return at most `topK` hits, best first, and throw an EnsembleError on failure; an empty
 * array means nothing relevant was found.
 */
export interface KnowledgeBase {
  search(query: string, options: KnowledgeBaseSearchOptions): Promise<KnowledgeBaseHit[]>;
}

/** Stands in until a vector store is wired: every search is a clear, non-retryable "not configured". */
export class UnconfiguredKnowledgeBase implements KnowledgeBase {
  async search(): Promise<KnowledgeBaseHit[]> {
    throw new EnsembleError(
      ErrorCode.Unavailable,
      'The knowledge base is not configured on this server, so it cannot be searched. Answer from other sources and say that the knowledge base was unavailable.',
      { wireCode: 'not_configured' },
    );
  }
}
