import { resolve } from 'node:path';

import { type IngestProgress, type IngestSummary, ingestPaths } from '@ensemble/ingest';
import cliProgress from 'cli-progress';

import type { OpenedVectorStore as OpenedStore } from '@ensemble/vectors/open';

export interface IngestCommandOptions {
  paths: string[];
  root: string;
  reindex: boolean;
  /** Delete stored documents whose files left the named directories. */
  prune: boolean;
  maxTokens?: number;
  overlap?: number;
  json: boolean;
}

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal (a redrawn progress bar) or not (one plain line per file). */
  interactive: boolean;
}

export async function runIngest(opened: OpenedStore, options: IngestCommandOptions, output: Output): Promise<void> {
  const { store, embedder } = opened;
  if (options.reindex) {
    output.err(`Re-indexing: deleting every stored chunk, then embedding with ${embedder.model} (dimension ${embedder.dimension}).\n`);
    await store.reset();
  } else {
    await store.setup();
  }
  const progress = createProgress(output);
  let summary: IngestSummary;
  try {
    summary = await ingestPaths(
      options.paths,
      { store, embedder },
      {
        cwd: resolve(options.root),
        prune: options.prune,
        chunking: {
          ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
          ...(options.overlap === undefined ? {} : { overlapTokens: options.overlap }),
        },
        onProgress: progress.update,
      },
    );
  } finally {
    progress.stop();
  }
  const stats = await store.stats();
  if (options.json) {
    output.out(`${JSON.stringify({ ...summary, store: stats }, null, 2)}\n`);
    return;
  }
  const seconds = summary.durationMs / 1000;
  const lines = [
    `Processed ${summary.files} file${summary.files === 1 ? '' : 's'} in ${seconds.toFixed(1)} s` +
      (summary.chunksAdded > 0 ? ` (${Math.round(summary.chunksAdded / Math.max(seconds, 0.001))} chunks/s)` : ''),
    `  documents: ${summary.added} added, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.skipped.length} skipped` +
      (options.prune ? `, ${summary.removed.length} removed` : ''),
    `  chunks:    ${summary.chunksAdded} added, ${summary.chunksUnchanged} unchanged, ${summary.chunksRemoved} removed`,
  ];
  if (summary.skipped.length > 0) {
    lines.push('  skipped:');
    for (const skipped of summary.skipped) lines.push(`    ${skipped.id}: ${skipped.reason}`);
  }
  if (summary.removed.length > 0) {
    lines.push('  removed (their files are gone):');
    for (const id of summary.removed) lines.push(`    ${id}`);
  }
  if (summary.nothingChanged) lines.push('Nothing changed: every readable file was already indexed with these settings.');
  lines.push(`Store: ${stats.documents} documents, ${stats.chunks} chunks (${stats.model}, dimension ${stats.dimension})`);
  output.out(`${lines.join('\n')}\n`);
}

function createProgress(output: Output): { update: (progress: IngestProgress) => void; stop: () => void } {
  if (!output.interactive) {
    return {
      update: (progress) => {
        const detail = progress.status === 'skipped' ? `skipped: ${progress.reason ?? ''}` : `${progress.status} (${progress.chunks} chunks)`;
        output.err(`[${progress.done}/${progress.total}] ${progress.id}: ${detail}\n`);
      },
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{bar} {percentage}% | {value}/{total} files | {chunks} chunks | {rate} chunks/s | ETA {eta_formatted} | {file}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (progress) => {
      const payload = {
        chunks: progress.chunksWritten,
        rate: Math.round(progress.chunksWritten / Math.max(progress.elapsedMs / 1000, 0.001)),
        file: progress.id.length > 40 ? `…${progress.id.slice(-39)}` : progress.id,
      };
      if (!started) {
        bar.start(progress.total, 0, payload);
        started = true;
      }
      bar.update(progress.done, payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
