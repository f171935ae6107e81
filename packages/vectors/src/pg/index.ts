export { PgVectorStore } from './pg-store.js';
export type { HnswOptions, PgVectorStoreFromUrlOptions, PgVectorStoreOptions } from './pg-store.js';
export { MIGRATIONS } from './migrations.js';
export type { Migration, MigrationContext } from './migrations.js';
