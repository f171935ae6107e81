export { readEmbeddedPostgresLock, startEmbeddedPostgres } from './embedded-postgres.js';
export type { EmbeddedPostgres, EmbeddedPostgresLock, EmbeddedPostgresOptions } from './embedded-postgres.js';
export { resolveDatabase } from './resolve-database.js';
export type { ResolveDatabaseOptions, ResolvedDatabase } from './resolve-database.js';
