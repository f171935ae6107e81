/**
 * Versioned schema migrations of `PgVectorStore`. Append new versions; never edit an applied one (a store
 * records the versions it applied in `<schema>.migrations` and only runs the ones it lacks).
 */

export interface MigrationContext {
  /** Quoted schema name, safe to interpolate. */
  schema: string;
  dimension: number;
  hnsw: { m: number; efConstruction: number };
}

export interface Migration {
  version: number;
  name: string;
  statements(context: MigrationContext): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents and chunks',
    statements: ({ schema, dimension }) => [
      `CREATE TABLE ${schema}.embedding_space (
         singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
         model text NOT NULL,
         dimension integer NOT NULL
       )`,
      `CREATE TABLE ${schema}.documents (
         id text PRIMARY KEY,
         title text NOT NULL,
         source text NOT NULL,
         content_hash text NOT NULL,
         chunk_count integer NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
      // `metadata` holds the document's metadata overlaid with the chunk's, so one containment test filters.
      // `tsv` is generated, so full-text search can never drift from the content.
      `CREATE TABLE ${schema}.chunks (
         id text PRIMARY KEY,
         document_id text NOT NULL REFERENCES ${schema}.documents (id) ON DELETE CASCADE,
         ordinal integer NOT NULL,
         content text NOT NULL,
         context text,
         metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
         embedding vector(${dimension}) NOT NULL,
         tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(context, '') || ' ' || content)) STORED
       )`,
      `CREATE INDEX chunks_document_id ON ${schema}.chunks (document_id)`,
      `CREATE INDEX chunks_tsv ON ${schema}.chunks USING gin (tsv)`,
      `CREATE INDEX chunks_metadata ON ${schema}.chunks USING gin (metadata jsonb_path_ops)`,
    ],
  },
  {
    version: 2,
    name: 'hnsw cosine index',
    statements: ({ schema, hnsw }) => [
      `CREATE INDEX chunks_embedding_hnsw ON ${schema}.chunks USING hnsw (embedding vector_cosine_ops)
         WITH (m = ${hnsw.m}, ef_construction = ${hnsw.efConstruction})`,
    ],
  },
];
