import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../../../test/support/processes.js';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'apps/cli/bin/ensemble.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `ensemble` bin (through its tsx shim) as a child process; resolves with its exit code. */
async function ensemble(args: string[], env: Record<string, string>): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: '', EMBEDDED_PG_URL: '', EMBEDDING_MODEL: '', EMBEDDING_DIMENSION: '', ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

// Each test runs the real bin, which opens PGlite (6-15 s on a busy 2-core machine) once or twice.
describe('ensemble CLI', { timeout: 180_000 }, () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ensemble-cli-'));
    await cp(join(REPO_ROOT, 'data/sample-corpus'), join(dir, 'corpus'), { recursive: true });
    await writeFile(join(dir, 'corpus', 'broken.pdf'), 'not really a pdf');
    env = { EMBEDDED_PG_DATA_DIR: join(dir, 'pglite') };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ingests the sample corpus, skips and reports a bad file, and changes nothing on a second run', async () => {
    const first = await ensemble(['ingest', '--json', '--root', dir, join(dir, 'corpus')], env);
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ files: 7, added: 6, unchanged: 0, nothingChanged: false, store: { documents: 6, model: 'ensemble-lexical-v1', dimension: 384 } });
    expect(summary['skipped']).toEqual([{ id: 'corpus/broken.pdf', reason: expect.stringContaining('not a readable PDF') as string }]);
    expect(summary['chunksAdded']).toBeGreaterThan(10);
    // Not a terminal: one plain progress line per file on stderr.
    expect(first.stderr).toContain('[7/7]');
    expect(first.stderr).toContain('corpus/broken.pdf: skipped: not a readable PDF');

    const second = await ensemble(['ingest', '--root', dir, join(dir, 'corpus')], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('0 added, 0 updated, 6 unchanged, 1 skipped');
    expect(second.stdout).toContain(`chunks:    0 added, ${String(summary['chunksAdded'])} unchanged, 0 removed`);
    expect(second.stdout).toContain('Nothing changed');
    expect(second.stdout).toContain('corpus/broken.pdf: not a readable PDF');

    const search = await ensemble(['search', '--json', '-k', '2', 'which port does the embedded PostgreSQL server listen on'], env);
    expect(search.code, search.stderr).toBe(0);
    const hits = JSON.parse(search.stdout) as Array<{ documentId: string }>;
    expect(hits.map((hit) => hit.documentId)).toContain('corpus/running-ensemble.pdf');

    // A file deleted from the corpus stays searchable until an ingest with --prune removes it.
    await rm(join(dir, 'corpus', 'running-ensemble.pdf'));
    const pruned = await ensemble(['ingest', '--prune', '--root', dir, join(dir, 'corpus')], env);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('0 added, 0 updated, 5 unchanged, 1 skipped, 1 removed');
    expect(pruned.stdout).toContain('removed (their files are gone):\n    corpus/running-ensemble.pdf');
    expect(pruned.stdout).toContain('Store: 5 documents');
  });

  it('refuses another embedding dimension with the re-index hint, and --reindex switches the store', async () => {
    const refused = await ensemble(['ingest', '--root', dir, join(dir, 'corpus', 'a2a-protocol.md')], { ...env, EMBEDDING_DIMENSION: '128' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ensemble ingest --reindex');
    expect(refused.stderr).not.toMatch(/\n\s+at /);

    const reindexed = await ensemble(['ingest', '--json', '--reindex', '--root', dir, join(dir, 'corpus', 'a2a-protocol.md')], { ...env, EMBEDDING_DIMENSION: '128' });
    expect(reindexed.code, reindexed.stderr).toBe(0);
    expect(JSON.parse(reindexed.stdout)).toMatchObject({ added: 1, store: { documents: 1, dimension: 128 } });
  });

  it('prints usage, and exits 2 on a usage error', async () => {
    const help = await ensemble(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('ensemble <command>');
    const bad = await ensemble(['ingest'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ingest needs at least one path');
  });
});
