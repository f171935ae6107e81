import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeVectorStoreConformance } from '../conformance.js';
import { type EmbeddedPostgres, readEmbeddedPostgresLock, startEmbeddedPostgres } from '../embedded/embedded-postgres.js';
import { resolveDatabase } from '../embedded/resolve-database.js';
import { LexicalEmbedder } from '../lexical-embedder.js';
import { searchChunks } from '../search.js';
import { PgVectorStore } from './pg-store.js';

// One embedded server (in memory) for the file; every store gets its own schema, so tests never share rows.
let server: EmbeddedPostgres;
let pool: pg.Pool;
let schemas = 0;
const nextSchema = () => `t${process.pid}_${(schemas += 1)}`;

beforeAll(async () => {
  server = await startEmbeddedPostgres({ port: 0, maxConnections: 12 });
  pool = new pg.Pool({ connectionString: server.url, max: 4 });
});

afterAll(async () => {
  await pool?.end();
  await server?.close();
});

describeVectorStoreConformance('pgvector on PGlite', { create: async (space) => new PgVectorStore(pool, { space, schema: nextSchema() }) });

describe('PgVectorStore on PGlite', () => {
  it('applies versioned migrations once and records them', async () => {
    const schema = nextSchema();
    const store = new PgVectorStore(pool, { space: { model: 'm', dimension: 8 }, schema, hnsw: { m: 8, efConstruction: 32 } });
    await store.setup();
    await store.setup();
    const migrations = await pool.query<{ version: number }>(`SELECT version FROM "${schema}".migrations ORDER BY version`);
    expect(migrations.rows.map((row) => row.version)).toEqual([1, 2]);
    const indexes = await pool.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [schema]);
    const definitions = indexes.rows.map((row) => row.indexdef).join('\n');
    expect(definitions).toMatch(/USING hnsw \(embedding vector_cosine_ops\) WITH \(m='?8'?, ef_construction='?32'?\)/);
    expect(definitions).toContain('USING gin (tsv)');
    expect(definitions).toContain('USING gin (metadata jsonb_path_ops)');
    const column = await pool.query<{ type: string }>(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'embedding'`,
      [`"${schema}".chunks`],
    );
    expect(column.rows[0]?.type).toBe('vector(8)');
  });

  it('refuses a store opened with another embedding model or dimension, and reset() re-indexes', async () => {
    const schema = nextSchema();
    const original = new PgVectorStore(pool, { space: { model: 'ensemble-lexical-v1', dimension: 4 }, schema });
    await original.setup();
    await original.upsert([{ id: 'd', title: 'D', source: 'd', contentHash: 'h', chunks: [{ content: 'x', embedding: [1, 0, 0, 0] }] }]);

    for (const space of [{ model: 'text-embedding-3-small', dimension: 4 }, { model: 'ensemble-lexical-v1', dimension: 8 }]) {
      const other = new PgVectorStore(pool, { space, schema });
      const error = await other.setup().catch((caught: unknown) => caught);
      expect(EnsembleError.is(error, ErrorCode.Conflict)).toBe(true);
      expect((error as EnsembleError).wireCode).toBe('embedding_space_mismatch');
      expect((error as EnsembleError).message).toContain('ensemble ingest --reindex');
      expect((error as EnsembleError).message).toContain(`"${space.model}" (dimension ${space.dimension})`);
    }
    expect(await original.stats()).toMatchObject({ documents: 1, chunks: 1 });

    const reindexed = new PgVectorStore(pool, { space: { model: 'ensemble-lexical-v1', dimension: 8 }, schema });
    await reindexed.reset();
    expect(await reindexed.stats()).toEqual({ model: 'ensemble-lexical-v1', dimension: 8, documents: 0, chunks: 0 });
    const stale = await new PgVectorStore(pool, { space: { model: 'ensemble-lexical-v1', dimension: 4 }, schema }).setup().catch((caught: unknown) => caught);
    expect(EnsembleError.is(stale, ErrorCode.Conflict)).toBe(true);
  });

  it('serves concurrent searches from several connections through the socket server', async () => {
    const embedder = new LexicalEmbedder({ dimension: 64 });
    const schema = nextSchema();
    const writer = new PgVectorStore(pool, { space: embedder, schema });
    await writer.setup();
    const topics = ['agents exchange tasks', 'vector index recall', 'streaming status events', 'tool calls over mcp', 'redis session locks'];
    const texts = Array.from({ length: 200 }, (_, index) => `${topics[index % topics.length]} note ${index} about item${index}`);
    const embeddings = await embedder.embed(texts);
    await writer.upsert(
      Array.from({ length: 20 }, (_, documentIndex) => ({
        id: `doc-${documentIndex}`,
        title: `Doc ${documentIndex}`,
        source: `doc-${documentIndex}.md`,
        contentHash: 'v1',
        chunks: texts.slice(documentIndex * 10, documentIndex * 10 + 10).map((content, index) => ({
          content,
          embedding: embeddings[documentIndex * 10 + index]!,
        })),
      })),
    );

    // Five stores, each with its own pool: the socket server must accept all their connections at once.
    const readers = Array.from({ length: 5 }, () => PgVectorStore.fromUrl(server.url, { space: embedder, schema, maxConnections: 2 }));
    try {
      await Promise.all(readers.map((reader) => reader.setup()));
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          searchChunks({ store: readers[index % readers.length]!, embedder }, topics[index % topics.length]!, { k: 5 }),
        ),
      );
      results.forEach((hits, index) => {
        expect(hits).toHaveLength(5);
        for (const hit of hits) expect(hit.content.startsWith(topics[index % topics.length]!)).toBe(true);
      });
      expect(server.port).toBeGreaterThan(0);
    } finally {
      await Promise.all(readers.map((reader) => reader.close()));
    }
  });

  it('takes the HNSW index for vector search', async () => {
    const schema = nextSchema();
    const store = new PgVectorStore(pool, { space: { model: 'm', dimension: 4 }, schema });
    await store.setup();
    const client = await pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM "${schema}".chunks ORDER BY embedding <=> '[1,0,0,0]'::vector LIMIT 5`,
      );
      expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('chunks_embedding_hnsw');
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });
});

describe('PgVectorStore when the database goes away', () => {
  it('fails as unavailable, naming no address (the message reaches clients through agent failures)', async () => {
    const lost = await startEmbeddedPostgres({ port: 0 });
    const { host, port } = new URL(lost.url);
    const store = PgVectorStore.fromUrl(lost.url, { space: { model: 'm', dimension: 4 }, schema: nextSchema() });
    try {
      await store.setup();
      await lost.close();
      for (const attempt of [() => store.textSearch('anything'), () => store.vectorSearch([1, 0, 0, 0], { k: 1 }), () => store.stats(), () => store.deleteDocument('d'), () => store.reset()]) {
        const error: unknown = await attempt().then(
          () => undefined,
          (failure: unknown) => failure,
        );
        expect(EnsembleError.is(error) ? error.code : error).toBe(ErrorCode.Unavailable);
        const message = (error as EnsembleError).message;
        expect(message).not.toContain(host);
        expect(message).not.toContain(`:${port}`);
      }
    } finally {
      await store.close();
      await lost.close();
    }
  }, 60_000);
});

describe('embedded Postgres data directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ensemble-pglite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('persists across restarts, refuses a second opener, and lets clients find the live server', async () => {
    const dataDir = join(dir, 'pglite');
    const first = await startEmbeddedPostgres({ dataDir, port: 0 });
    try {
      const store = PgVectorStore.fromUrl(first.url, { space: { model: 'm', dimension: 4 } });
      await store.setup();
      await store.upsert([{ id: 'kept', title: 'Kept', source: 'kept', contentHash: 'h', chunks: [{ content: 'persisted', embedding: [0, 1, 0, 0] }] }]);
      await store.close();

      const second = await startEmbeddedPostgres({ dataDir, port: 0 }).catch((caught: unknown) => caught);
      expect(EnsembleError.is(second, ErrorCode.Conflict)).toBe(true);
      expect((second as EnsembleError).message).toContain(first.url);
      expect(await readEmbeddedPostgresLock(dataDir)).toEqual({ pid: process.pid, url: first.url });
      const resolved = await resolveDatabase({ dataDir });
      expect(resolved).toMatchObject({ url: first.url, mode: 'embedded-server' });
    } finally {
      await first.close();
    }
    expect(await readEmbeddedPostgresLock(dataDir)).toBeUndefined();

    // A lock left by a dead process is taken over.
    await writeFile(`${dataDir}.lock`, JSON.stringify({ pid: 2 ** 22 + 12_345, url: 'postgresql://gone' }));
    const reopened = await resolveDatabase({ dataDir });
    try {
      expect(reopened.mode).toBe('in-process');
      expect(JSON.parse(await readFile(`${dataDir}.lock`, 'utf8'))).toEqual({ pid: process.pid, url: reopened.url });
      const store = PgVectorStore.fromUrl(reopened.url, { space: { model: 'm', dimension: 4 } });
      await store.setup();
      const hits = await store.vectorSearch([0, 1, 0, 0], { k: 1 });
      expect(hits.map((hit) => hit.content)).toEqual(['persisted']);
      await store.close();
    } finally {
      await reopened.close();
    }
  });
});
