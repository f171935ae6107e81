import { type EmbeddedPostgres, readEmbeddedPostgresLock, startEmbeddedPostgres } from './embedded-postgres.js';

export interface ResolveDatabaseOptions {
  /** A PostgreSQL server with pgvector (production). Wins over everything else. */
  databaseUrl?: string | undefined;
  /** A running embedded server (`apps/embedded-postgres`). */
  embeddedUrl?: string | undefined;
  /** The embedded server's data directory: used directly when no server holds it. */
  dataDir: string;
  /** Connections accepted when this process starts its own embedded server (default 4). */
  maxConnections?: number;
}

export interface ResolvedDatabase {
  url: string;
  /**
   * `external`: DATABASE_URL. `embedded-server`: a running embedded server (named, or found through the
   * data directory's lock). `in-process`: this process opened the data directory itself.
   */
  mode: 'external' | 'embedded-server' | 'in-process';
  /** Stops the in-process server, if one was started; otherwise does nothing. */
  close(): Promise<void>;
}

/**
 * Picks the database a short-lived tool (the CLI) or a service should use, in this order: `databaseUrl`;
 * `embeddedUrl`; the server that currently holds `dataDir` (read from its lock file); otherwise opens
 * `dataDir` in this process behind a socket server on a free loopback port, so callers still speak `pg`
 * and a second tool started meanwhile finds this one through the lock instead of corrupting the directory.
 */
export async function resolveDatabase(options: ResolveDatabaseOptions): Promise<ResolvedDatabase> {
  const noop = async () => undefined;
  if (options.databaseUrl !== undefined) return { url: options.databaseUrl, mode: 'external', close: noop };
  if (options.embeddedUrl !== undefined) return { url: options.embeddedUrl, mode: 'embedded-server', close: noop };
  const holder = await readEmbeddedPostgresLock(options.dataDir);
  if (holder?.url !== undefined) return { url: holder.url, mode: 'embedded-server', close: noop };
  const embedded: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: options.dataDir, port: 0, maxConnections: options.maxConnections ?? 4 });
  return { url: embedded.url, mode: 'in-process', close: () => embedded.close() };
}
