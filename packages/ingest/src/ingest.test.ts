import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { InMemoryVectorStore, LexicalEmbedder, searchChunks } from '@ensemble/vectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type IngestProgress, ingest, ingestPaths } from './ingest.js';
import { minimalPdf } from './testing/minimal-pdf.js';

describe('ingestPaths', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ensemble-ingest-'));
    await mkdir(join(root, 'docs', 'nested'), { recursive: true });
    await writeFile(join(root, 'docs', 'a2a.md'), '# A2A\n\n## Streaming\n\nTask updates stream as server-sent events.\n');
    await writeFile(join(root, 'docs', 'nested', 'mcp.html'), '<h1>MCP</h1><p>Tools are called over the Model Context Protocol.</p>');
    await writeFile(join(root, 'docs', 'nested', 'notes.txt'), 'pgvector stores embeddings next to relational data.');
    await writeFile(join(root, 'docs', 'manual.pdf'), minimalPdf('Manual', [['HNSW indexes answer approximate nearest neighbour queries.']]));
    await writeFile(join(root, 'docs', 'broken.pdf'), 'this is not a pdf');
    await writeFile(join(root, 'docs', 'empty.md'), '\n\n');
    await writeFile(join(root, 'docs', 'image.png'), new Uint8Array([0x89, 0x50]));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('ingests a directory, skips bad files with reasons, and a second run changes nothing', async () => {
    const embedder = new LexicalEmbedder({ dimension: 128 });
    const store = new InMemoryVectorStore(embedder);
    await store.setup();
    const progress: IngestProgress[] = [];
    const first = await ingestPaths(['docs', 'docs/image.png', 'missing/*.md'], { store, embedder }, { cwd: root, onProgress: (event) => progress.push(event) });

    expect(first).toMatchObject({ files: 8, added: 4, updated: 0, unchanged: 0, chunksAdded: 4, nothingChanged: false });
    expect(Object.fromEntries(first.skipped.map((skipped) => [skipped.id, skipped.reason]))).toEqual({
      'missing/*.md': 'no such file, or nothing matches',
      'docs/broken.pdf': expect.stringMatching(/not a readable PDF/) as string,
      'docs/empty.md': 'no text content',
      'docs/image.png': expect.stringMatching(/unsupported file type/) as string,
    });
    expect(progress.map((event) => event.done)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(progress.at(-1)).toMatchObject({ total: 7, chunksWritten: 4 });

    const hits = await searchChunks({ store, embedder }, 'how are task updates streamed?', { k: 1 });
    expect(hits[0]).toMatchObject({ documentId: 'docs/a2a.md', title: 'A2A', context: 'A2A > Streaming', metadata: { headingPath: ['A2A', 'Streaming'], format: 'markdown' } });
    const pdfHits = await searchChunks({ store, embedder }, 'approximate nearest neighbour', { k: 1 });
    expect(pdfHits[0]).toMatchObject({ documentId: 'docs/manual.pdf', title: 'Manual', metadata: { page: 1 } });

    const second = await ingestPaths(['docs'], { store, embedder }, { cwd: root });
    expect(second).toMatchObject({ added: 0, updated: 0, unchanged: 4, chunksAdded: 0, chunksUnchanged: 4, nothingChanged: true });

    await writeFile(join(root, 'docs', 'nested', 'notes.txt'), 'pgvector stores embeddings. It has HNSW and IVFFlat indexes.');
    const third = await ingestPaths(['docs/**/*.txt'], { store, embedder }, { cwd: root });
    expect(third).toMatchObject({ files: 1, updated: 1, chunksAdded: 1, chunksRemoved: 1, nothingChanged: false });

    // Other chunking settings are another version of every document.
    const rechunked = await ingestPaths(['docs/a2a.md'], { store, embedder }, { cwd: root, chunking: { maxTokens: 200 } });
    expect(rechunked).toMatchObject({ updated: 1 });
  });
});

describe('ingestPaths with prune', () => {
  it('deletes stored documents whose files left a named directory, and nothing outside it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ensemble-prune-'));
    try {
      await mkdir(join(root, 'kb', 'old'), { recursive: true });
      await mkdir(join(root, 'other'), { recursive: true });
      await writeFile(join(root, 'kb', 'keep.md'), '# Keep\n\nStill here.\n');
      await writeFile(join(root, 'kb', 'old', 'gone.md'), '# Gone\n\nDeleted before the next run.\n');
      await writeFile(join(root, 'kb', 'broken.pdf'), 'not a pdf at first');
      await writeFile(join(root, 'other', 'outside.md'), '# Outside\n\nNot under kb.\n');
      const embedder = new LexicalEmbedder({ dimension: 64 });
      const store = new InMemoryVectorStore(embedder);
      await store.setup();
      await ingestPaths(['kb', 'other'], { store, embedder }, { cwd: root });
      await writeFile(join(root, 'kb', 'broken.pdf'), minimalPdf('Broken', [['A readable PDF this time.']]));
      await ingestPaths(['kb/broken.pdf'], { store, embedder }, { cwd: root });
      expect(await store.documentIds()).toEqual(['kb/broken.pdf', 'kb/keep.md', 'kb/old/gone.md', 'other/outside.md']);

      await rm(join(root, 'kb', 'old'), { recursive: true });
      await rm(join(root, 'other', 'outside.md'));
      // broken.pdf is unreadable again: skipped, so kept; outside.md is not under a named directory.
      await writeFile(join(root, 'kb', 'broken.pdf'), 'broken again');
      const withoutPrune = await ingestPaths(['kb'], { store, embedder }, { cwd: root });
      expect(withoutPrune.removed).toEqual([]);
      const pruned = await ingestPaths(['kb'], { store, embedder }, { cwd: root, prune: true });
      expect(pruned).toMatchObject({ removed: ['kb/old/gone.md'], nothingChanged: false });
      expect(await store.documentIds()).toEqual(['kb/broken.pdf', 'kb/keep.md', 'other/outside.md']);
      // A glob or a single file is not a pruning scope.
      expect((await ingestPaths(['kb/*.md', 'kb/keep.md'], { store, embedder }, { cwd: root, prune: true })).removed).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('ingest with a given title', () => {
  it('stores the given title instead of the parsed one, and a new title alone re-writes the document', async () => {
    const embedder = new LexicalEmbedder({ dimension: 64 });
    const store = new InMemoryVectorStore(embedder);
    await store.setup();
    const bytes = new TextEncoder().encode('# Parsed heading\n\nBackups are kept for thirty days.\n');
    const source = (title?: string) => ({ id: 'notes/backup.md', ...(title === undefined ? {} : { title }), read: async () => bytes });

    const first = await ingest([source('Backup policy')], { store, embedder }, {});
    expect(first).toMatchObject({ added: 1 });
    expect((await searchChunks({ store, embedder }, 'backups thirty days'))[0]).toMatchObject({ title: 'Backup policy' });

    expect(await ingest([source('Backup policy')], { store, embedder }, {})).toMatchObject({ unchanged: 1, nothingChanged: true });

    expect(await ingest([source('Backup retention policy')], { store, embedder }, {})).toMatchObject({ updated: 1 });
    expect((await searchChunks({ store, embedder }, 'backups thirty days'))[0]).toMatchObject({ title: 'Backup retention policy' });

    expect(await ingest([source()], { store, embedder }, {})).toMatchObject({ updated: 1 });
    expect((await searchChunks({ store, embedder }, 'backups thirty days'))[0]).toMatchObject({ title: 'Parsed heading' });
  });
});
