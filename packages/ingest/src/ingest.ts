import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import type { Embedder, UpsertStatus, VectorStore } from '@ensemble/vectors';
import { glob, isDynamicPattern } from 'tinyglobby';

import { CHUNKER_VERSION, type ChunkingOptions, chunkDocument, resolveChunking } from './chunker.js';
import { SUPPORTED_EXTENSIONS, formatOf, loadDocument } from './loaders/index.js';
import type { DocumentFormat } from './types.js';

/** One document to ingest, wherever its bytes come from (a file, an HTTP upload). */
export interface IngestSource {
  /** Stable document id (for files: the path relative to the corpus root, with `/`). */
  id: string;
  /** Shown with citations: a path or URL. Defaults to `id`. */
  source?: string;
  /** Defaults to the format of `id`'s extension. */
  format?: DocumentFormat;
  /** Extra document metadata stored with every chunk (for filters). */
  metadata?: Readonly<Record<string, unknown>>;
  /** Overrides the title found in the content (first heading, `<title>`, file name). */
  title?: string;
  read(): Promise<Uint8Array>;
}

export interface IngestDeps {
  store: VectorStore;
  embedder: Embedder;
}

export type IngestFileStatus = UpsertStatus | 'skipped';

export interface IngestProgress {
  /** Documents finished so far (any status), and how many there are in all. */
  done: number;
  total: number;
  /** The document just finished. */
  id: string;
  status: IngestFileStatus;
  /** Chunks stored for it (0 when skipped). */
  chunks: number;
  /** Why it was skipped. */
  reason?: string;
  /** Chunks embedded and written by this run so far (what the rate is measured on). */
  chunksWritten: number;
  elapsedMs: number;
}

export interface IngestOptions {
  chunking?: ChunkingOptions;
  /** Called after every document. */
  onProgress?: (progress: IngestProgress) => void;
  /** Texts per embedding call (default 64). */
  embedBatchSize?: number;
  signal?: AbortSignal;
}

export interface SkippedFile {
  id: string;
  reason: string;
}

export interface IngestSummary {
  /** Documents considered (including skipped ones). */
  files: number;
  added: number;
  updated: number;
  unchanged: number;
  skipped: SkippedFile[];
  /** Chunks embedded and written by this run. */
  chunksAdded: number;
  /** Chunks already stored for unchanged documents. */
  chunksUnchanged: number;
  /** Chunks deleted because their document changed. */
  chunksRemoved: number;
  durationMs: number;
  /** Ids of documents deleted because their files are gone (`ingestPaths` with `prune`). */
  removed: string[];
  /** True when the run wrote nothing: every document was unchanged or skipped, none was removed. */
  nothingChanged: boolean;
}

/**
 * Ingests documents into a vector store: load, chunk, embed, upsert, one document at a time.
 *
 * Idempotent and resumable: each document's content hash (its bytes plus the chunking settings and chunker
 * version) is compared with the stored one before any parsing or embedding, so unchanged documents cost one
 * lookup, and each document is committed on its own, so a run interrupted half-way resumes where it stopped.
 * A document that cannot be read, parsed or embedded (bad UTF-8, a broken PDF, no text, rejected by the
 * embedding model) is reported in `skipped` and the batch goes on. Store failures and an unreachable
 * embedding service abort the run: every later document would fail the same way.
 */
export async function ingest(sources: readonly IngestSource[], deps: IngestDeps, options: IngestOptions = {}): Promise<IngestSummary> {
  const startedAt = performance.now();
  const chunking = resolveChunking(options.chunking);
  const settingsKey = `chunker:${CHUNKER_VERSION}:${chunking.maxTokens}:${chunking.overlapTokens}`;
  const summary: IngestSummary = {
    files: sources.length,
    added: 0,
    updated: 0,
    unchanged: 0,
    skipped: [],
    removed: [],
    chunksAdded: 0,
    chunksUnchanged: 0,
    chunksRemoved: 0,
    durationMs: 0,
    nothingChanged: true,
  };
  const stored = await deps.store.documentInfo(sources.map((source) => source.id));
  let done = 0;
  const report = (id: string, status: IngestFileStatus, chunks: number, reason?: string) => {
    done += 1;
    options.onProgress?.({
      done,
      total: sources.length,
      id,
      status,
      chunks,
      ...(reason === undefined ? {} : { reason }),
      chunksWritten: summary.chunksAdded,
      elapsedMs: performance.now() - startedAt,
    });
  };
  const skip = (id: string, reason: string) => {
    summary.skipped.push({ id, reason });
    report(id, 'skipped', 0, reason);
  };

  for (const source of sources) {
    options.signal?.throwIfAborted();
    const format = source.format ?? formatOf(source.id);
    if (format === undefined) {
      skip(source.id, `unsupported file type (supported: ${SUPPORTED_EXTENSIONS.join(' ')})`);
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = await source.read();
    } catch (error) {
      skip(source.id, `cannot read: ${describe(error)}`);
      continue;
    }
    // A given title is part of what was ingested: changing it alone re-writes the document.
    const contentHash = createHash('sha256').update(settingsKey).update('\0').update(source.title ?? '').update('\0').update(bytes).digest('hex');
    const existing = stored.get(source.id);
    if (existing?.contentHash === contentHash) {
      summary.unchanged += 1;
      summary.chunksUnchanged += existing.chunks;
      report(source.id, 'unchanged', existing.chunks);
      continue;
    }

    let chunks;
    let title: string;
    try {
      const document = await loadDocument(bytes, source.id, format);
      chunks = chunkDocument(document, chunking);
      title = source.title ?? document.title;
    } catch (error) {
      skip(source.id, describe(error));
      continue;
    }
    if (chunks.length === 0) {
      skip(source.id, format === 'pdf' ? 'no extractable text (a scanned PDF needs OCR first)' : 'no text content');
      continue;
    }

    const embeddings: number[][] = [];
    try {
      const batchSize = options.embedBatchSize ?? 64;
      for (let start = 0; start < chunks.length; start += batchSize) {
        const texts = chunks.slice(start, start + batchSize).map((chunk) => `${chunk.context}\n\n${chunk.content}`);
        embeddings.push(...(await deps.embedder.embed(texts, options.signal === undefined ? {} : { signal: options.signal })));
      }
    } catch (error) {
      // The model refusing this document's text is the document's problem; anything else is the service's.
      if (EnsembleError.is(error, ErrorCode.InvalidRequest)) {
        skip(source.id, `embedding failed: ${error.message}`);
        continue;
      }
      throw error;
    }

    const [result] = await deps.store.upsert([
      {
        id: source.id,
        title,
        source: source.source ?? source.id,
        contentHash,
        metadata: { ...source.metadata, format },
        chunks: chunks.map((chunk, index) => ({
          content: chunk.content,
          context: chunk.context,
          embedding: embeddings[index]!,
          metadata: { ...chunk.metadata, tokens: chunk.tokens },
        })),
      },
    ]);
    if (result === undefined) throw new EnsembleError(ErrorCode.Internal, `Vector store returned no result for ${source.id}`);
    if (result.status === 'unchanged') {
      // Another process stored this exact version between our lookup and our write.
      summary.unchanged += 1;
      summary.chunksUnchanged += result.chunks;
    } else {
      summary[result.status] += 1;
      summary.chunksAdded += result.chunks;
      summary.chunksRemoved += result.removedChunks;
      summary.nothingChanged = false;
    }
    report(source.id, result.status, result.chunks);
  }
  summary.durationMs = performance.now() - startedAt;
  return summary;
}

export interface IngestPathsOptions extends IngestOptions {
  /** Corpus root: document ids are paths relative to it (default `process.cwd()` of the caller's choosing). */
  cwd: string;
  /**
   * After ingesting, delete the stored documents that lie under a directory named in the patterns but
   * whose files are not there any more (deleted, renamed, no longer a supported type). Files named one
   * by one and glob patterns are not a scope for this: nothing outside the named directories is touched.
   */
  prune?: boolean;
}

/**
 * Ingests files named by paths, directories (searched recursively for supported extensions) and glob
 * patterns, relative to `cwd`. A path or pattern that matches nothing is reported in `skipped`.
 */
export async function ingestPaths(patterns: readonly string[], deps: IngestDeps, options: IngestPathsOptions): Promise<IngestSummary> {
  const { files, missing, directories } = await expandPaths(patterns, options.cwd);
  const sources: IngestSource[] = files.map((file) => ({ id: documentIdOf(file, options.cwd), read: () => readFile(file) }));
  const summary = await ingest(sources, deps, options);
  const removed = options.prune === true ? await pruneMissing(directories, sources, deps.store, options.cwd) : [];
  return {
    ...summary,
    files: summary.files + missing.length,
    skipped: [...missing.map((id) => ({ id, reason: 'no such file, or nothing matches' })), ...summary.skipped],
    removed,
    nothingChanged: summary.nothingChanged && removed.length === 0,
  };
}

/** Deletes stored documents under `directories` that `found` no longer has; returns their ids. */
async function pruneMissing(directories: readonly string[], found: readonly IngestSource[], store: VectorStore, cwd: string): Promise<string[]> {
  if (directories.length === 0) return [];
  // Unreadable files are still there: they were skipped, not removed, and keep what is stored.
  const present = new Set(found.map((source) => source.id));
  const removed: string[] = [];
  for (const id of await store.documentIds()) {
    if (present.has(id)) continue;
    const file = isAbsolute(id) ? id : resolve(cwd, id);
    if (!directories.some((directory) => isInside(file, directory))) continue;
    if (await store.deleteDocument(id)) removed.push(id);
  }
  return removed;
}

function isInside(file: string, directory: string): boolean {
  const path = relative(directory, file);
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
}

/**
 * Resolves paths, directories and globs to a sorted, de-duplicated list of absolute file paths; also
 * says which patterns matched nothing and which named directories (absolute).
 */
export async function expandPaths(patterns: readonly string[], cwd: string): Promise<{ files: string[]; missing: string[]; directories: string[] }> {
  const files = new Set<string>();
  const missing: string[] = [];
  const directories: string[] = [];
  const extensions = SUPPORTED_EXTENSIONS.map((extension) => extension.slice(1)).join(',');
  for (const pattern of patterns) {
    const absolute = resolve(cwd, pattern);
    const info = await stat(absolute).catch(() => undefined);
    let matches: string[];
    if (info?.isFile() === true) matches = [absolute];
    else if (info?.isDirectory() === true) {
      directories.push(absolute);
      matches = await glob(`**/*.{${extensions}}`, { cwd: absolute, absolute: true, caseSensitiveMatch: false, ignore: ['**/node_modules/**', '**/.git/**'] });
    } else if (isDynamicPattern(pattern)) matches = await glob(pattern, { cwd, absolute: true, onlyFiles: true, ignore: ['**/node_modules/**', '**/.git/**'] });
    else matches = [];
    if (matches.length === 0) missing.push(pattern);
    for (const match of matches) files.add(resolve(match));
  }
  return { files: [...files].sort(), missing, directories };
}

/** Path relative to the corpus root with `/` separators; absolute when outside it. */
export function documentIdOf(file: string, cwd: string): string {
  const relativePath = relative(cwd, file);
  const id = relativePath.startsWith('..') || isAbsolute(relativePath) ? file : relativePath;
  return id.split(sep).join('/');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
