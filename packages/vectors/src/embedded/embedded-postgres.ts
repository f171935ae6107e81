import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { EnsembleError, ErrorCode } from '@ensemble/protocol';

export interface EmbeddedPostgresOptions {
  /** Where the database persists. Omitted: in memory, gone on `close()`. */
  dataDir?: string | undefined;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 5433 (5432 is usually a system PostgreSQL, without pgvector). 0 picks a free port. */
  port?: number;
  /**
   * Concurrent client connections accepted (default 16). pglite-socket accepts ONE by default and resets
   * the rest; queries from all connections still run one at a time.
   */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** `postgresql://` URL for `pg` (and `psql`); any user name and password are accepted. */
  readonly url: string;
  readonly port: number;
  /** Absolute data directory, or undefined when in memory. */
  readonly dataDir: string | undefined;
  /** Stops accepting connections, closes PGlite (flushing to `dataDir`) and releases the directory lock. */
  close(): Promise<void>;
}

export interface EmbeddedPostgresLock {
  pid: number;
  /** Set once the server listens. */
  url?: string;
}

/**
 * Starts PostgreSQL 18 (PGlite, WebAssembly, in this process) with pgvector, served over the Postgres wire
 * protocol so every component uses the same `pg` code path as with a real server.
 *
 * A PGlite data directory must never be opened by two processes at once (it would be corrupted), so this
 * takes a lock file beside it (`<dataDir>.lock`, holding our pid and URL). A live holder makes this fail with
 * `conflict` naming the URL to connect to instead; a lock left by a dead process is taken over.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  const lockPath = dataDir === undefined ? undefined : lockFileOf(dataDir);
  if (dataDir !== undefined && lockPath !== undefined) {
    await mkdir(dataDir, { recursive: true });
    await acquireLock(lockPath, dataDir);
  }
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    db = await PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), extensions: { vector } });
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
    server = new PGLiteSocketServer({
      db,
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 5433,
      maxConnections: options.maxConnections ?? 16,
    });
    await server.start();
  } catch (error) {
    await db?.close().catch(() => undefined);
    if (lockPath !== undefined) await releaseLock(lockPath);
    if (isAddressInUse(error)) {
      throw new EnsembleError(ErrorCode.Unavailable, `Embedded Postgres cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 5433}: the port is in use`, {
        cause: error,
      });
    }
    throw new EnsembleError(ErrorCode.Unavailable, `Embedded Postgres failed to start${dataDir === undefined ? '' : ` on ${dataDir}`}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const [host = '127.0.0.1', port = '0'] = splitHostPort(server.getServerConn());
  const url = `postgresql://postgres@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
  if (lockPath !== undefined) await writeFile(lockPath, JSON.stringify({ pid: process.pid, url } satisfies EmbeddedPostgresLock));

  let closing: Promise<void> | undefined;
  const runningServer = server;
  const runningDb = db;
  return {
    url,
    port: Number(port),
    dataDir,
    close() {
      closing ??= (async () => {
        await runningServer.stop();
        await runningDb.close();
        if (lockPath !== undefined) await releaseLock(lockPath);
      })();
      return closing;
    },
  };
}

/**
 * The live process serving `dataDir`, if any (its lock names a running pid). A client that finds one
 * connects to its URL instead of opening the directory itself.
 */
export async function readEmbeddedPostgresLock(dataDir: string): Promise<EmbeddedPostgresLock | undefined> {
  const lockPath = lockFileOf(resolve(dataDir));
  const lock = await readLock(lockPath);
  return lock !== undefined && holderIsLive(lock, lockPath) ? lock : undefined;
}

/** Lock files this process holds: its own pid in a lock is only stale when it is not one of these. */
const heldLocks = new Set<string>();

function lockFileOf(dataDir: string): string {
  return join(dirname(dataDir), `${basename(dataDir)}.lock`);
}

async function acquireLock(lockPath: string, dataDir: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await writeFile(lockPath, JSON.stringify({ pid: process.pid } satisfies EmbeddedPostgresLock), { flag: 'wx' });
      heldLocks.add(lockPath);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLock(lockPath);
    if (holder !== undefined && holderIsLive(holder, lockPath)) {
      throw new EnsembleError(
        ErrorCode.Conflict,
        `The PGlite data directory ${dataDir} is in use by process ${holder.pid}${holder.url === undefined ? '' : ` (serving ${holder.url})`}. ` +
          `PGlite cannot open one data directory from two processes: ${holder.url === undefined ? 'wait for it to start and ' : ''}connect to that server ` +
          `(EMBEDDED_PG_URL=${holder.url ?? '<its url>'}) or stop it first.`,
        { wireCode: 'data_dir_in_use', details: { pid: holder.pid, url: holder.url } },
      );
    }
    // Left behind by a process that died (or an earlier process that had our pid): take it over.
    await rm(lockPath, { force: true });
  }
  throw new EnsembleError(ErrorCode.Conflict, `Could not lock the PGlite data directory ${dataDir} (another process keeps taking ${lockPath})`);
}

async function releaseLock(lockPath: string): Promise<void> {
  heldLocks.delete(lockPath);
  const holder = await readLock(lockPath);
  if (holder?.pid === process.pid) await rm(lockPath, { force: true });
}

async function readLock(lockPath: string): Promise<EmbeddedPostgresLock | undefined> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; url?: unknown };
    if (typeof parsed.pid !== 'number') return undefined;
    return { pid: parsed.pid, ...(typeof parsed.url === 'string' ? { url: parsed.url } : {}) };
  } catch {
    // A half-written lock from a process killed mid-write: treat as stale (pid 0 is never alive to us).
    return { pid: 0 };
  }
}

function holderIsLive(holder: EmbeddedPostgresLock, lockPath: string): boolean {
  return holder.pid === process.pid ? heldLocks.has(lockPath) : isAlive(holder.pid);
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function splitHostPort(connection: string): [string, string] {
  const index = connection.lastIndexOf(':');
  return [connection.slice(0, index), connection.slice(index + 1)];
}

function isAddressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
