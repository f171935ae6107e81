import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import pg from 'pg';
import { toSql } from 'pgvector';

import { checkDocuments, checkEmbedding, chunkId, hybridSearchOf, MAX_K, resolveK, spaceMismatchError } from '../shared.js';
import type {
  DocumentInput,
  EmbeddingSpace,
  HybridSearchOptions,
  Metadata,
  SearchHit,
  SearchOptions,
  StoredDocumentInfo,
  StoreStats,
  UpsertResult,
  VectorStore,
} from '../types.js';
import { MIGRATIONS } from './migrations.js';

export interface HnswOptions {
  /** Graph degree (pgvector default 16). Applies when the index is built: on a new store or after `reset()`. */
  m?: number;
  /** Build-time candidate list (pgvector default 64). Applies when the index is built. */
  efConstruction?: number;
  /** Query-time candidate list (default 100; pgvector's own default is 40). Higher: better recall, slower. */
  efSearch?: number;
}

export interface PgVectorStoreOptions {
  /** The embedding space this process writes and queries with (from its `Embedder`). */
  space: EmbeddingSpace;
  /**
   * PostgreSQL schema the store owns (default `ensemble`): its tables live there and `reset()` drops it.
   * Lower-case letters, digits and `_`. Several stores (tests, tenants) can share a database this way.
   */
  schema?: string;
  hnsw?: HnswOptions;
  /** Rows per INSERT statement when writing chunks (default 500). */
  insertBatchSize?: number;
}

export interface PgVectorStoreFromUrlOptions extends PgVectorStoreOptions {
  /** Pool size (default 10). PGlite behind `pglite-socket` runs one query at a time whatever this is. */
  maxConnections?: number;
  /** Errors of idle pooled connections (a restarted server, say); the pool drops those connections itself. */
  onPoolError?: (error: Error) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const DEFAULT_HNSW = { m: 16, efConstruction: 64, efSearch: 100 } as const;

interface ChunkRow {
  id: string;
  document_id: string;
  ordinal: number;
  content: string;
  context: string | null;
  metadata: Metadata;
  title: string;
  source: string;
  score: number;
}

/**
 * `VectorStore` on PostgreSQL with pgvector, through a `pg` pool: a real PostgreSQL server in production
 * (`DATABASE_URL`) or embedded PGlite served by `startEmbeddedPostgres` — the same code path for both.
 *
 * Chunks carry a `vector(N)` column with an HNSW cosine index, a generated `tsvector` with a GIN index, and
 * `jsonb` metadata with a GIN index for containment filters. Every write is one short transaction per
 * document because PGlite runs every statement of every connection through one queue: an open transaction
 * there stalls all other clients until it ends.
 */
export class PgVectorStore implements VectorStore {
  readonly space: EmbeddingSpace;
  readonly schema: string;
  readonly #pool: pg.Pool;
  #ownsPool: boolean;
  readonly #quoted: string;
  readonly #hnsw: Required<HnswOptions>;
  readonly #insertBatchSize: number;
  /** The `hnsw.ef_search` each pooled connection was last set to (a session setting lives with the connection). */
  readonly #connectionEfSearch = new WeakMap<pg.PoolClient, number>();
  #iterativeScan = false;
  #ready = false;

  /** Uses an injected pool, which the caller keeps owning (`close()` leaves it open). */
  constructor(pool: pg.Pool, options: PgVectorStoreOptions) {
    this.#pool = pool;
    this.#ownsPool = false;
    const schema = options.schema ?? 'ensemble';
    if (!SCHEMA_NAME.test(schema)) {
      throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid vector store schema name "${schema}": use lower-case letters, digits and _`);
    }
    if (!Number.isInteger(options.space.dimension) || options.space.dimension < 1 || options.space.dimension > 16_000) {
      throw new EnsembleError(ErrorCode.InvalidRequest, `Embedding dimension must be an integer in 1..16000 (got ${options.space.dimension})`);
    }
    this.space = { model: options.space.model, dimension: options.space.dimension };
    this.schema = schema;
    this.#quoted = `"${schema}"`;
    this.#hnsw = { ...DEFAULT_HNSW, ...options.hnsw };
    for (const [name, value] of Object.entries(this.#hnsw)) {
      if (!Number.isInteger(value) || value < 2 || value > 1000) {
        throw new EnsembleError(ErrorCode.InvalidRequest, `HNSW ${name} must be an integer in 2..1000 (got ${value})`);
      }
    }
    this.#insertBatchSize = options.insertBatchSize ?? 500;
  }

  /** Creates (and on `close()` ends) its own pool for `url`. */
  static fromUrl(url: string, options: PgVectorStoreFromUrlOptions): PgVectorStore {
    const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
    pool.on('error', (error) => options.onPoolError?.(error));
    const store = new PgVectorStore(pool, options);
    store.#ownsPool = true;
    return store;
  }

  async setup(): Promise<void> {
    await this.#transaction(async (client) => {
      await this.#lock(client);
      await client.query('CREATE EXTENSION IF NOT EXISTS vector');
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#quoted}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.#quoted}.migrations (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
    });
    const applied = new Set(
      (await this.#query<{ version: number }>(`SELECT version FROM ${this.#quoted}.migrations`)).rows.map((row) => row.version),
    );
    if (applied.has(1)) await this.#checkSpace();
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      // One transaction per migration, under the schema's advisory lock, re-checking under the lock:
      // several processes may start at once against one database.
      await this.#transaction(async (client) => {
        await this.#lock(client);
        const done = await client.query(`SELECT 1 FROM ${this.#quoted}.migrations WHERE version = $1`, [migration.version]);
        if (done.rowCount !== 0) return;
        const statements = migration.statements({ schema: this.#quoted, dimension: this.space.dimension, hnsw: this.#hnsw });
        for (const statement of statements) await client.query(statement);
        if (migration.version === 1) {
          await client.query(`INSERT INTO ${this.#quoted}.embedding_space (model, dimension) VALUES ($1, $2)`, [this.space.model, this.space.dimension]);
        }
        await client.query(`INSERT INTO ${this.#quoted}.migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      });
    }
    await this.#checkSpace();
    const version = await this.#query<{ extversion: string }>(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
    const [major = 0, minor = 0] = (version.rows[0]?.extversion ?? '0.0').split('.').map(Number);
    // pgvector 0.8 can keep scanning the HNSW graph until enough rows pass the filters; older ones return fewer.
    this.#iterativeScan = major > 0 || minor >= 8;
    this.#ready = true;
  }

  async reset(): Promise<void> {
    await this.#transaction(async (client) => {
      await this.#lock(client);
      await client.query(`DROP SCHEMA IF EXISTS ${this.#quoted} CASCADE`);
    });
    this.#ready = false;
    await this.setup();
  }

  async upsert(documents: readonly DocumentInput[]): Promise<UpsertResult[]> {
    this.#checkReady();
    checkDocuments(documents, this.space);
    const stored = await this.documentInfo(documents.map((document) => document.id));
    const results: UpsertResult[] = [];
    for (const document of documents) {
      const existing = stored.get(document.id);
      if (existing?.contentHash === document.contentHash) {
        results.push({ documentId: document.id, status: 'unchanged', chunks: existing.chunks, removedChunks: 0 });
        continue;
      }
      results.push(await this.#writeDocument(document));
    }
    return results;
  }

  async deleteDocument(documentId: string): Promise<boolean> {
    this.#checkReady();
    const result = await this.#query(`DELETE FROM ${this.#quoted}.documents WHERE id = $1`, [documentId]);
    return (result.rowCount ?? 0) > 0;
  }

  async documentInfo(documentIds: readonly string[]): Promise<Map<string, StoredDocumentInfo>> {
    this.#checkReady();
    const info = new Map<string, StoredDocumentInfo>();
    if (documentIds.length === 0) return info;
    const result = await this.#query<{ id: string; content_hash: string; chunk_count: number }>(
      `SELECT id, content_hash, chunk_count FROM ${this.#quoted}.documents WHERE id = ANY($1::text[])`,
      [documentIds],
    );
    for (const row of result.rows) info.set(row.id, { contentHash: row.content_hash, chunks: row.chunk_count });
    return info;
  }

  async documentIds(): Promise<string[]> {
    this.#checkReady();
    const result = await this.#query<{ id: string }>(`SELECT id FROM ${this.#quoted}.documents ORDER BY id COLLATE "C"`);
    return result.rows.map((row) => row.id);
  }

  async vectorSearch(embedding: ArrayLike<number>, options?: SearchOptions): Promise<SearchHit[]> {
    this.#checkReady();
    const k = resolveK(options);
    checkEmbedding(embedding, this.space, 'Query embedding');
    const efSearch = this.#resolveEfSearch(options, k);
    const params: unknown[] = [vectorLiteral(embedding), k];
    const where = this.#filterSql(options, params);
    // The inner query has exactly the `ORDER BY embedding <=> $1 LIMIT k` shape the HNSW index serves; the
    // outer one re-sorts, because an iterative (relaxed order) scan may return rows slightly out of order.
    const sql = `
      SELECT c.id, c.document_id, c.ordinal, c.content, c.context, c.metadata, d.title, d.source, 1 - c.distance AS score
      FROM (
        SELECT id, document_id, ordinal, content, context, metadata, embedding <=> $1::vector AS distance
        FROM ${this.#quoted}.chunks c
        ${where}
        ORDER BY embedding <=> $1::vector
        LIMIT $2
      ) c
      JOIN ${this.#quoted}.documents d ON d.id = c.document_id
      ORDER BY c.distance, c.id`;
    const rows = await this.#withClient(efSearch, (client) => client.query<ChunkRow>(sql, params));
    return rows.rows.map(toHit);
  }

  async textSearch(query: string, options?: SearchOptions): Promise<SearchHit[]> {
    this.#checkReady();
    const k = resolveK(options);
    const params: unknown[] = [query, k];
    const where = this.#filterSql(options, params, 'c.tsv @@ q.query');
    // plainto_tsquery ANDs every word, which a natural-language question rarely satisfies; OR-ing the same
    // stemmed lexemes lets ts_rank reward chunks that match more (and rarer) words instead.
    const sql = `
      WITH q AS (SELECT to_tsquery('english', replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')) AS query)
      SELECT c.id, c.document_id, c.ordinal, c.content, c.context, c.metadata, d.title, d.source,
             ts_rank(c.tsv, q.query, 1) AS score
      FROM q, ${this.#quoted}.chunks c
      JOIN ${this.#quoted}.documents d ON d.id = c.document_id
      ${where}
      ORDER BY score DESC, c.id
      LIMIT $2`;
    const rows = await this.#query<ChunkRow>(sql, params);
    return rows.rows.map(toHit);
  }

  hybridSearch(query: { text: string; embedding: ArrayLike<number> }, options?: HybridSearchOptions): Promise<SearchHit[]> {
    return hybridSearchOf(this, query, options);
  }

  async stats(): Promise<StoreStats> {
    this.#checkReady();
    const result = await this.#query<{ documents: string; chunks: string }>(
      `SELECT (SELECT count(*) FROM ${this.#quoted}.documents) AS documents, (SELECT count(*) FROM ${this.#quoted}.chunks) AS chunks`,
    );
    const row = result.rows[0];
    return { ...this.space, documents: Number(row?.documents ?? 0), chunks: Number(row?.chunks ?? 0) };
  }

  async close(): Promise<void> {
    this.#ready = false;
    if (this.#ownsPool) await this.#pool.end();
  }

  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(sql, params);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async #writeDocument(document: DocumentInput): Promise<UpsertResult> {
    return this.#transaction(async (client) => {
      // Serialises writers of the same document across processes; readers are never blocked (MVCC).
      await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${this.schema}:${document.id}`]);
      const before = await client.query<{ content_hash: string; chunk_count: number }>(
        `SELECT content_hash, chunk_count FROM ${this.#quoted}.documents WHERE id = $1`,
        [document.id],
      );
      const previous = before.rows[0];
      if (previous?.content_hash === document.contentHash) {
        return { documentId: document.id, status: 'unchanged' as const, chunks: previous.chunk_count, removedChunks: 0 };
      }
      const removed = await client.query(`DELETE FROM ${this.#quoted}.chunks WHERE document_id = $1`, [document.id]);
      await client.query(
        `INSERT INTO ${this.#quoted}.documents (id, title, source, content_hash, chunk_count) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, source = EXCLUDED.source, content_hash = EXCLUDED.content_hash,
           chunk_count = EXCLUDED.chunk_count, updated_at = now()`,
        [document.id, document.title, document.source, document.contentHash, document.chunks.length],
      );
      const documentMetadata = document.metadata ?? {};
      for (let start = 0; start < document.chunks.length; start += this.#insertBatchSize) {
        const batch = document.chunks.slice(start, start + this.#insertBatchSize);
        await client.query(
          `INSERT INTO ${this.#quoted}.chunks (id, document_id, ordinal, content, context, metadata, embedding)
           SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::jsonb[], $7::vector[])`,
          [
            batch.map((_, index) => chunkId(document.id, start + index)),
            batch.map(() => document.id),
            batch.map((_, index) => start + index),
            batch.map((chunk) => chunk.content),
            batch.map((chunk) => chunk.context ?? null),
            batch.map((chunk) => JSON.stringify({ ...documentMetadata, ...chunk.metadata })),
            batch.map((chunk) => vectorLiteral(chunk.embedding)),
          ],
        );
      }
      return {
        documentId: document.id,
        status: previous === undefined ? ('added' as const) : ('updated' as const),
        chunks: document.chunks.length,
        removedChunks: removed.rowCount ?? 0,
      };
    });
  }

  async #checkSpace(): Promise<void> {
    const result = await this.#query<{ model: string; dimension: number }>(`SELECT model, dimension FROM ${this.#quoted}.embedding_space`);
    const stored = result.rows[0];
    if (stored === undefined) return;
    if (stored.model !== this.space.model || stored.dimension !== this.space.dimension) {
      throw spaceMismatchError(`Vector store "${this.schema}"`, { model: stored.model, dimension: stored.dimension }, this.space);
    }
  }

  /** Appends WHERE conditions for `documentIds` and `filter`, pushing their values onto `params`. */
  #filterSql(options: SearchOptions | undefined, params: unknown[], ...extra: string[]): string {
    const conditions = [...extra];
    if (options?.documentIds !== undefined) {
      params.push(options.documentIds);
      conditions.push(`c.document_id = ANY($${params.length}::text[])`);
    }
    for (const [key, wanted] of Object.entries(options?.filter ?? {})) {
      const values: readonly unknown[] = Array.isArray(wanted) ? wanted : [wanted];
      if (values.length === 0) {
        conditions.push('false');
        continue;
      }
      // Containment (`@>`) is what the jsonb_path_ops GIN index answers.
      const alternatives = values.map((value) => {
        params.push(JSON.stringify({ [key]: value }));
        return `c.metadata @> $${params.length}::jsonb`;
      });
      conditions.push(alternatives.length === 1 ? (alternatives[0] ?? 'false') : `(${alternatives.join(' OR ')})`);
    }
    return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  }

  #resolveEfSearch(options: SearchOptions | undefined, k: number): number {
    const efSearch = options?.efSearch ?? this.#hnsw.efSearch;
    if (!Number.isInteger(efSearch) || efSearch < 1 || efSearch > MAX_K) {
      throw new EnsembleError(ErrorCode.InvalidRequest, `efSearch must be an integer between 1 and ${MAX_K} (got ${efSearch})`);
    }
    // HNSW returns at most ef_search rows per scan; asking for more than that would silently cut k.
    return Math.max(efSearch, k);
  }

  /**
   * Runs `fn` on a pooled connection whose `hnsw.ef_search` is `efSearch`. The setting is per session, so it
   * is set once per physical connection (and again only when a query asks for another value) rather than
   * wrapping every search in a transaction with `SET LOCAL`.
   */
  async #withClient<T>(efSearch: number, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await connect(this.#pool);
    let broken: Error | undefined;
    try {
      if (this.#connectionEfSearch.get(client) !== efSearch) {
        const iterative = this.#iterativeScan ? `; SET hnsw.iterative_scan = relaxed_order` : '';
        await client.query(`SET hnsw.ef_search = ${efSearch}${iterative}`);
        this.#connectionEfSearch.set(client, efSearch);
      }
      return await fn(client);
    } catch (error) {
      // A failed SET leaves the session in an unknown state: drop the connection rather than reuse it.
      if (!this.#connectionEfSearch.has(client)) broken = error instanceof Error ? error : new Error(String(error));
      throw toStoreError(error);
    } finally {
      client.release(broken);
    }
  }

  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await connect(this.#pool);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable; destroy it instead of returning it to the pool.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw toStoreError(error);
    } finally {
      client.release(broken);
    }
  }

  async #lock(client: pg.PoolClient): Promise<void> {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`ensemble-vectors:${this.schema}`]);
  }

  #checkReady(): void {
    if (!this.#ready) throw new EnsembleError(ErrorCode.Unavailable, `PgVectorStore "${this.schema}": call setup() first (or the store was closed)`);
  }
}

/** pgvector's text form (`[1,2,3]`), which `pg` sends as a parameter and the server casts to `vector`. */
function vectorLiteral(embedding: ArrayLike<number>): string {
  return toSql(Array.from(embedding)) as string;
}

function toHit(row: ChunkRow): SearchHit {
  return {
    chunkId: row.id,
    documentId: row.document_id,
    ordinal: row.ordinal,
    title: row.title,
    source: row.source,
    content: row.content,
    context: row.context ?? undefined,
    metadata: row.metadata,
    score: Number(row.score),
  };
}

/** Socket errors that mean the database cannot be reached (or the connection to it broke). */
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A failure to reach the database or to keep the connection, rather than an error of the query. */
function isConnectionFailure(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (error instanceof pg.DatabaseError) return typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P'));
  if (typeof code === 'string') return CONNECTION_ERROR_CODES.has(code);
  // pg reports a lost or timed-out connection as a plain `Error` without a code ("Connection terminated
  // unexpectedly"); a bug of ours would be a TypeError or the like.
  return error.constructor === Error;
}

/**
 * Wraps driver errors: connection failures (SQLSTATE class 08, shutdowns 57P, refused/reset sockets, a
 * dropped connection) are `unavailable` (retry later); anything else is `internal` (a bug or a schema
 * changed behind our back). An unavailable store's message names no host or port (the driver's does:
 * `connect ECONNREFUSED 10.0.0.5:5432`): it travels on to clients as an agent's failure reason; the
 * driver's error stays in `cause`, for logs.
 */
function toStoreError(error: unknown): unknown {
  if (error instanceof EnsembleError || !(error instanceof Error)) return error;
  if (isConnectionFailure(error)) {
    const code = (error as { code?: unknown }).code;
    return new EnsembleError(ErrorCode.Unavailable, `The vector store's database is unreachable${typeof code === 'string' ? ` (${code})` : ''}`, { cause: error });
  }
  return new EnsembleError(ErrorCode.Internal, `Vector store query failed: ${error.message}`, { cause: error });
}

/** A pooled connection, with a failure to get one reported like any other store error. */
async function connect(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    throw toStoreError(error);
  }
}
