import { z } from 'zod';

/**
 * The RAG agent's contracts: how a caller narrows a retrieval (a data part on the A2A message), what the
 * agent returns besides its cited answer (a data artifact listing the sources), how its HTTP ingestion
 * endpoint is called, and the prompt layout sim-llm's `rag-answer` behaviour reads back offline.
 */

/** Skill id the RAG agent's card declares; planners pick the agent by it. */
export const DOCUMENT_RETRIEVAL_SKILL_ID = 'document-retrieval';
/** Name of the data artifact carrying a `RagSourcesResult`. */
export const RAG_SOURCES_ARTIFACT_NAME = 'sources';

/**
 * Layout of the answer prompt's system message. After the `sources` header, each source is a block that
 * starts with a line `[n] <title> (<source>)` and continues with the chunk text up to the next such line.
 * When nothing relevant was found the message carries the `noSources` line instead. A contract with
 * sim-llm, which answers from those blocks deterministically (citing them) when no real model is used.
 */
export const RAG_PROMPT_SECTIONS = {
  sources: 'Sources:',
  noSources: 'No sources were found for this question.',
} as const;

const MetadataScalar = z.union([z.string(), z.number(), z.boolean()]);

/**
 * Equality filter on top-level metadata keys (document metadata given at ingestion, plus `format`): every
 * key must match; an array matches any of its values.
 */
export const RetrievalFilter = z.record(z.string().min(1), z.union([MetadataScalar, z.array(MetadataScalar).min(1)]));
export type RetrievalFilter = z.infer<typeof RetrievalFilter>;

/** Optional retrieval settings for one question; every field overrides the agent's configuration. */
export const RetrievalRequest = z.strictObject({
  /** The question to search for; the message text is used when absent. */
  query: z.string().min(1).optional(),
  filter: RetrievalFilter.optional(),
  /** Only search these documents (ids as ingested, e.g. `data/sample-corpus/a2a-protocol.md`). */
  documentIds: z.array(z.string().min(1)).min(1).optional(),
  /** How many chunks to retrieve (before the relevance threshold and the context budget). */
  topK: z.number().int().min(1).max(50).optional(),
  /** Minimum cosine similarity between the question and a chunk for the chunk to count as relevant. */
  minScore: z.number().min(-1).max(1).optional(),
});
export type RetrievalRequest = z.infer<typeof RetrievalRequest>;

/** The data part a caller adds to its A2A message: `{ "retrieval": { "filter": { "topic": "pgvector" } } }`. */
export const RetrievalRequestData = z.object({ retrieval: RetrievalRequest });
export type RetrievalRequestData = z.infer<typeof RetrievalRequestData>;

/** Where in its document a chunk comes from. */
export const SourceLocation = z.object({
  /** Headings from the outermost to the chunk's own section. */
  headingPath: z.array(z.string()),
  /** 1-based page (PDFs). */
  page: z.number().int().positive().optional(),
  /** Character offsets in the document's text. */
  charStart: z.number().int().nonnegative().optional(),
  charEnd: z.number().int().nonnegative().optional(),
});
export type SourceLocation = z.infer<typeof SourceLocation>;

/** One numbered source given to the model; `[index]` in the answer cites it. */
export const RagSource = z.object({
  index: z.number().int().positive(),
  documentId: z.string(),
  chunkId: z.string(),
  /** Position of the chunk in its document, from 0. */
  chunk: z.number().int().nonnegative(),
  title: z.string(),
  /** Path or URL of the document. */
  source: z.string(),
  /** Cosine similarity between the question and the chunk, in [-1, 1]. */
  score: z.number(),
  location: SourceLocation,
  /** Beginning of the chunk's text, for display. */
  excerpt: z.string(),
  /** Whether the answer cites it. */
  cited: z.boolean(),
});
export type RagSource = z.infer<typeof RagSource>;

/** The RAG agent's data artifact (`RAG_SOURCES_ARTIFACT_NAME`). */
export const RagSourcesResult = z.object({
  /** The query searched (after rewriting, when enabled). */
  query: z.string(),
  /** False when nothing relevant was found (the answer says so and `sources` is empty). */
  found: z.boolean(),
  sources: z.array(RagSource),
});
export type RagSourcesResult = z.infer<typeof RagSourcesResult>;

/**
 * One document of a JSON ingestion request (`POST /v1/ingest`). Exactly one of `text` (UTF-8 content)
 * or `base64` (bytes, for PDFs) is required. `contentType` picks the parser (`text/markdown`,
 * `text/plain`, `text/html`, `application/pdf`); without it the extension of `id` or `source` decides.
 */
export const IngestDocument = z
  .strictObject({
    /** Stable id; re-sending the same id replaces the document. Default: `source`, else a content hash. */
    id: z.string().min(1).max(1024).optional(),
    text: z.string().optional(),
    base64: z.string().optional(),
    contentType: z.string().min(1).optional(),
    /** Shown with citations instead of the title the parser finds. */
    title: z.string().min(1).max(500).optional(),
    /** Where the document comes from (a path or URL), shown with citations. */
    source: z.string().min(1).max(2048).optional(),
    /** Stored with every chunk; retrieval filters match on its top-level keys. */
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((document) => (document.text === undefined) !== (document.base64 === undefined), {
    message: 'give exactly one of "text" or "base64"',
  });
export type IngestDocument = z.infer<typeof IngestDocument>;

/**
 * The JSON ingestion request. Documents are validated one by one (a bad one is reported and skipped), so
 * the envelope only requires a non-empty array.
 */
export const IngestRequest = z.strictObject({ documents: z.array(z.unknown()).min(1).max(1000) });
export type IngestRequest = z.infer<typeof IngestRequest>;

export const IngestDocumentResult = z.object({
  /** Position in the request (JSON) or among the uploaded files (multipart), from 0. */
  index: z.number().int().nonnegative(),
  /** The document id, when one could be determined. */
  id: z.string().optional(),
  status: z.enum(['added', 'updated', 'unchanged', 'skipped']),
  /** Chunks stored for the document. */
  chunks: z.number().int().nonnegative(),
  /** Why it was skipped. */
  reason: z.string().optional(),
});
export type IngestDocumentResult = z.infer<typeof IngestDocumentResult>;

export const IngestResponse = z.object({
  documents: z.array(IngestDocumentResult),
  summary: z.object({
    received: z.number().int().nonnegative(),
    added: z.number().int().nonnegative(),
    updated: z.number().int().nonnegative(),
    unchanged: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
    chunksAdded: z.number().int().nonnegative(),
    durationMs: z.number().nonnegative(),
  }),
});
export type IngestResponse = z.infer<typeof IngestResponse>;
