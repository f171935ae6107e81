import { z } from 'zod';

import { resolveDatabase, type ResolvedDatabase } from './embedded/index.js';
import type { Embedder } from './embedder.js';
import { createEmbedder } from './create-embedder.js';
import { PgVectorStore } from './pg/index.js';

/**
 * The variables that choose a vector store and its embedder. A schema fragment, not a reader: every app
 * that searches or ingests (CLI, RAG agent, MCP tools) spreads it into its own config schema, so the
 * names, defaults and meaning are the same everywhere (see the README's configuration table).
 */
export const VectorStoreSettings = z.object({
  /** A PostgreSQL server with pgvector. When set, the embedded database is not used. */
  DATABASE_URL: z.string().min(1).optional(),
  /** A running embedded server (`apps/embedded-postgres`). When unset, it is found through the data dir's lock. */
  EMBEDDED_PG_URL: z.string().min(1).optional(),
  /** The embedded database's data directory; opened in-process when no server holds it. */
  EMBEDDED_PG_DATA_DIR: z.string().min(1).default('.data/pglite'),
  /** Schema the vector store owns. */
  VECTOR_STORE_SCHEMA: z.string().min(1).default('ensemble'),
  VECTOR_HNSW_M: z.coerce.number().int().min(2).default(16),
  VECTOR_HNSW_EF_CONSTRUCTION: z.coerce.number().int().min(4).default(64),
  VECTOR_HNSW_EF_SEARCH: z.coerce.number().int().min(1).default(100),
  /** `lexical` (offline, default) or a model served at EMBEDDING_BASE_URL. */
  EMBEDDING_MODEL: z.string().min(1).default('lexical'),
  /** Lexical: vector length (default 384). Remote: the model's dimension (asked from the model when unset). */
  EMBEDDING_DIMENSION: z.coerce.number().int().min(1).max(16_000).optional(),
  /** OpenAI-compatible base URL for embeddings; defaults to OPENAI_BASE_URL, then OpenAI's. */
  EMBEDDING_BASE_URL: z.url().optional(),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
});
export type VectorStoreSettings = z.infer<typeof VectorStoreSettings>;

export interface OpenVectorStoreOptions {
  log?: (line: string) => void;
  /** Connections of this process's pool (default 2). */
  maxConnections?: number;
  /** Connections accepted by an embedded server this process starts itself (default 4). */
  embeddedMaxConnections?: number;
  /** Errors of idle pooled connections (a restarted database); without it they are ignored. */
  onPoolError?: (error: Error) => void;
}

export interface OpenedVectorStore {
  store: PgVectorStore;
  embedder: Embedder;
  database: ResolvedDatabase;
  close(): Promise<void>;
}

/**
 * The embedder and pgvector store the settings name, on the database `resolveDatabase` picks.
 * `setup()` is left to the caller, so `--reindex` can reset a store whose embedding space no longer matches.
 */
export async function openVectorStore(
  settings: VectorStoreSettings,
  options: OpenVectorStoreOptions = {},
): Promise<OpenedVectorStore> {
  const embedder = await createEmbedder({
    model: settings.EMBEDDING_MODEL,
    dimension: settings.EMBEDDING_DIMENSION,
    baseURL: settings.EMBEDDING_BASE_URL ?? settings.OPENAI_BASE_URL,
    apiKey: settings.OPENAI_API_KEY,
  });
  const database = await resolveDatabase({
    databaseUrl: settings.DATABASE_URL,
    embeddedUrl: settings.EMBEDDED_PG_URL,
    dataDir: settings.EMBEDDED_PG_DATA_DIR,
    ...(options.embeddedMaxConnections === undefined ? {} : { maxConnections: options.embeddedMaxConnections }),
  });
  if (database.mode === 'in-process') options.log?.(`No embedded server holds ${settings.EMBEDDED_PG_DATA_DIR}: opened it in this process.`);
  else if (database.mode === 'embedded-server') options.log?.(`Using the embedded server at ${database.url}.`);
  const store = PgVectorStore.fromUrl(database.url, {
    space: embedder,
    schema: settings.VECTOR_STORE_SCHEMA,
    hnsw: { m: settings.VECTOR_HNSW_M, efConstruction: settings.VECTOR_HNSW_EF_CONSTRUCTION, efSearch: settings.VECTOR_HNSW_EF_SEARCH },
    maxConnections: options.maxConnections ?? 2,
    ...(options.onPoolError === undefined ? {} : { onPoolError: options.onPoolError }),
  });
  return {
    store,
    embedder,
    database,
    async close() {
      await store.close();
      await database.close();
    },
  };
}
