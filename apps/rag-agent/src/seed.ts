import { type IngestSummary, ingestPaths } from '@ensemble/ingest';
import type { Logger } from '@ensemble/telemetry';
import type { Embedder, VectorStore } from '@ensemble/vectors';

/**
 * Ingests `paths` (files, directories, globs, relative to `cwd`) at start-up, so a fresh deployment has
 * something to answer from. Idempotent by content hash: on a restart every unchanged file costs one
 * lookup and nothing is written. Files that cannot be read or parsed are logged and skipped; a store or
 * embedding service failure propagates (the service cannot work without them).
 */
export async function seedKnowledgeBase(
  deps: { store: VectorStore; embedder: Embedder; logger: Logger },
  paths: readonly string[],
  cwd: string,
): Promise<IngestSummary | undefined> {
  if (paths.length === 0) return undefined;
  const summary = await ingestPaths(paths, { store: deps.store, embedder: deps.embedder }, { cwd });
  for (const skipped of summary.skipped) deps.logger.warn({ document: skipped.id, reason: skipped.reason }, 'seed skipped a document');
  deps.logger.info(
    {
      paths,
      files: summary.files,
      added: summary.added,
      updated: summary.updated,
      unchanged: summary.unchanged,
      skipped: summary.skipped.length,
      chunks_added: summary.chunksAdded,
      duration_ms: Math.round(summary.durationMs),
    },
    summary.nothingChanged ? 'knowledge base seed: nothing changed' : 'knowledge base seeded',
  );
  return summary;
}
