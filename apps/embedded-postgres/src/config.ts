import { env } from '@ensemble/config';
import { z } from 'zod';

/** Every variable the embedded Postgres service reads (listed in the README's configuration table). */
export const EmbeddedPostgresConfig = z.object({
  EMBEDDED_PG_HOST: env.host(),
  /** 5433, not 5432: 5432 is usually the machine's own PostgreSQL (without pgvector). */
  EMBEDDED_PG_PORT: env.port(5433),
  /** Relative to the working directory; `memory` keeps everything in memory (gone on exit). */
  EMBEDDED_PG_DATA_DIR: env.string('.data/pglite'),
  /** pglite-socket accepts one connection unless told otherwise; every service keeps a small pool. */
  EMBEDDED_PG_MAX_CONNECTIONS: env.int(32, 1),
  LOG_LEVEL: env.logLevel(),
});
export type EmbeddedPostgresConfig = z.infer<typeof EmbeddedPostgresConfig>;
