import { env } from '@ensemble/config';
import { z } from 'zod';

/** Every variable the CLI reads (the README's configuration table lists them with these defaults). */
export const CliConfig = z.object({
  /** A PostgreSQL server with pgvector. When set, the embedded database is not used. */
  DATABASE_URL: env.optionalString(),
  /** A running embedded server (`apps/embedded-postgres`). When unset, the CLI finds one through the data dir's lock. */
  EMBEDDED_PG_URL: env.optionalString(),
  /** The embedded database's data directory; opened in-process when no server holds it. */
  EMBEDDED_PG_DATA_DIR: env.string('.data/pglite'),
  /** Schema the vector store owns. */
  VECTOR_STORE_SCHEMA: env.string('ensemble'),
  VECTOR_HNSW_M: env.int(16, 2),
  VECTOR_HNSW_EF_CONSTRUCTION: env.int(64, 4),
  VECTOR_HNSW_EF_SEARCH: env.int(100, 1),
  /** `lexical` (offline, default) or a model served at EMBEDDING_BASE_URL. */
  EMBEDDING_MODEL: env.string('lexical'),
  /** Lexical: vector length (default 384). Remote: the model's dimension (asked from the model when unset). */
  EMBEDDING_DIMENSION: z.coerce.number().int().min(1).max(16_000).optional(),
  /** OpenAI-compatible base URL for embeddings; defaults to OPENAI_BASE_URL, then OpenAI's. */
  EMBEDDING_BASE_URL: env.optionalUrl(),
  OPENAI_BASE_URL: env.optionalUrl(),
  OPENAI_API_KEY: env.optionalString(),
});
export type CliConfig = z.infer<typeof CliConfig>;
