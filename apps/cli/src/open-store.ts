import type { Embedder } from '@ensemble/vectors';
import { resolveDatabase, type ResolvedDatabase } from '@ensemble/vectors/embedded';
import { createEmbedder } from '@ensemble/vectors/openai';
import { PgVectorStore } from '@ensemble/vectors/pg';

import type { CliConfig } from './config.js';

export interface OpenedStore {
  store: PgVectorStore;
  embedder: Embedder;
  database: ResolvedDatabase;
  close(): Promise<void>;
}

/**
 * The embedder and store the configuration names. `setup()` is left to the caller, so `--reindex` can reset
 * a store whose embedding space no longer matches.
 */
export async function openStore(config: CliConfig, log: (line: string) => void): Promise<OpenedStore> {
  const embedder = await createEmbedder({
    model: config.EMBEDDING_MODEL,
    dimension: config.EMBEDDING_DIMENSION,
    baseURL: config.EMBEDDING_BASE_URL ?? config.OPENAI_BASE_URL,
    apiKey: config.OPENAI_API_KEY,
  });
  const database = await resolveDatabase({
    databaseUrl: config.DATABASE_URL,
    embeddedUrl: config.EMBEDDED_PG_URL,
    dataDir: config.EMBEDDED_PG_DATA_DIR,
  });
  if (database.mode === 'in-process') log(`No embedded server holds ${config.EMBEDDED_PG_DATA_DIR}: opened it in this process.`);
  else if (database.mode === 'embedded-server') log(`Using the embedded server at ${database.url}.`);
  const store = PgVectorStore.fromUrl(database.url, {
    space: embedder,
    schema: config.VECTOR_STORE_SCHEMA,
    hnsw: { m: config.VECTOR_HNSW_M, efConstruction: config.VECTOR_HNSW_EF_CONSTRUCTION, efSearch: config.VECTOR_HNSW_EF_SEARCH },
    maxConnections: 2,
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
