import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { afterEach, describe, expect, it } from 'vitest';

import type { DocumentInput, EmbeddingSpace, VectorStore } from './types.js';

/**
 * The `VectorStore` contract as tests, run against every implementation (`memory-store.test.ts`,
 * `pg/pg-store.int.test.ts`). A behaviour one store has and another lacks is a bug in one of them.
 */
export interface ConformanceTarget {
  /** A fresh, empty store for `space` on which `setup()` has NOT been called yet. */
  create(space: EmbeddingSpace): Promise<VectorStore>;
}

const SPACE: EmbeddingSpace = { model: 'conformance-test', dimension: 4 };

/** Unit vectors along the axes plus blends, so expected cosine similarities are easy to state. */
const X = [1, 0, 0, 0];
const Y = [0, 1, 0, 0];
const Z = [0, 0, 1, 0];
const XY = [Math.SQRT1_2, Math.SQRT1_2, 0, 0];

function corpus(): DocumentInput[] {
  return [
    {
      id: 'guide/a2a.md',
      title: 'A2A protocol',
      source: 'docs/a2a.md',
      contentHash: 'a2a-v1',
      metadata: { kind: 'guide', lang: 'en' },
      chunks: [
        { content: 'Agents exchange tasks and messages over JSON-RPC.', context: 'A2A protocol > Transport', embedding: X, metadata: { page: 1 } },
        { content: 'Streaming uses server-sent events for task status updates.', context: 'A2A protocol > Streaming', embedding: XY, metadata: { page: 2 } },
      ],
    },
    {
      id: 'guide/pgvector.md',
      title: 'pgvector',
      source: 'docs/pgvector.md',
      contentHash: 'pgvector-v1',
      metadata: { kind: 'guide', lang: 'de' },
      chunks: [
        { content: 'HNSW indexes trade a little recall for fast approximate nearest neighbour search.', embedding: Y },
        { content: 'Chunking splits documents into passages before embedding them.', embedding: Z, metadata: { kind: 'note' } },
      ],
    },
    {
      id: 'notes/mcp.txt',
      title: 'MCP notes',
      source: 'notes/mcp.txt',
      contentHash: 'mcp-v1',
      chunks: [{ content: 'Tools are listed and called through the Model Context Protocol.', embedding: [0, 0, 0, 1] }],
    },
  ];
}

export function describeVectorStoreConformance(name: string, target: ConformanceTarget): void {
  describe(`VectorStore conformance: ${name}`, () => {
    const open: VectorStore[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()));
    });
    async function ready(space: EmbeddingSpace = SPACE): Promise<VectorStore> {
      const store = await target.create(space);
      open.push(store);
      await store.setup();
      return store;
    }
    async function seeded(): Promise<VectorStore> {
      const store = await ready();
      await store.upsert(corpus());
      return store;
    }

    it('setup() is idempotent and a new store is empty', async () => {
      const store = await ready();
      await store.setup();
      expect(await store.stats()).toEqual({ ...SPACE, documents: 0, chunks: 0 });
    });

    it('adds documents and reports what it stored', async () => {
      const store = await ready();
      const results = await store.upsert(corpus());
      expect(results.map((result) => [result.documentId, result.status, result.chunks])).toEqual([
        ['guide/a2a.md', 'added', 2],
        ['guide/pgvector.md', 'added', 2],
        ['notes/mcp.txt', 'added', 1],
      ]);
      expect(await store.stats()).toEqual({ ...SPACE, documents: 3, chunks: 5 });
      const info = await store.documentInfo(['guide/a2a.md', 'missing.md']);
      expect([...info]).toEqual([['guide/a2a.md', { contentHash: 'a2a-v1', chunks: 2 }]]);
    });

    it('upsert is idempotent by content hash and replaces all chunks when the hash changes', async () => {
      const store = await seeded();
      const again = await store.upsert(corpus());
      expect(again.every((result) => result.status === 'unchanged')).toBe(true);
      expect(await store.stats()).toMatchObject({ documents: 3, chunks: 5 });

      const [first] = corpus();
      const changed: DocumentInput = {
        ...first!,
        contentHash: 'a2a-v2',
        chunks: [{ content: 'Version two talks about agent cards only.', embedding: Z }],
      };
      const [result] = await store.upsert([changed]);
      expect(result).toEqual({ documentId: 'guide/a2a.md', status: 'updated', chunks: 1, removedChunks: 2 });
      expect(await store.stats()).toMatchObject({ documents: 3, chunks: 4 });
      const hits = await store.vectorSearch(Z, { k: 10, documentIds: ['guide/a2a.md'] });
      expect(hits.map((hit) => hit.content)).toEqual(['Version two talks about agent cards only.']);
      expect(await store.textSearch('server-sent events streaming')).toEqual([]);
    });

    it('vector search ranks by cosine similarity and returns document, title and location', async () => {
      const store = await seeded();
      const hits = await store.vectorSearch([0.9, 0.1, 0, 0], { k: 3 });
      expect(hits.map((hit) => hit.chunkId)).toEqual(['guide/a2a.md#0', 'guide/a2a.md#1', 'guide/pgvector.md#0']);
      const [top] = hits;
      expect(top).toMatchObject({
        documentId: 'guide/a2a.md',
        ordinal: 0,
        title: 'A2A protocol',
        source: 'docs/a2a.md',
        content: 'Agents exchange tasks and messages over JSON-RPC.',
        context: 'A2A protocol > Transport',
        metadata: { kind: 'guide', lang: 'en', page: 1 },
      });
      expect(top!.score).toBeCloseTo(0.9 / Math.hypot(0.9, 0.1), 5);
      expect(hits[1]!.score).toBeCloseTo((0.9 * Math.SQRT1_2 + 0.1 * Math.SQRT1_2) / Math.hypot(0.9, 0.1), 5);
      expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    });

    it('never returns more than k and breaks score ties by chunk id', async () => {
      const store = await ready();
      await store.upsert([
        { id: 'b', title: 'B', source: 'b', contentHash: '1', chunks: [{ content: 'same', embedding: X }] },
        { id: 'a', title: 'A', source: 'a', contentHash: '1', chunks: [{ content: 'same', embedding: X }, { content: 'other', embedding: Y }] },
      ]);
      const hits = await store.vectorSearch(X, { k: 2 });
      expect(hits.map((hit) => hit.chunkId)).toEqual(['a#0', 'b#0']);
    });

    it('filters on metadata before ranking: scalars, any-of lists, chunk over document values, document ids', async () => {
      const store = await seeded();
      // The nearest chunks to X are English; filtering on German still fills k from the rest.
      const german = await store.vectorSearch(X, { k: 2, filter: { lang: 'de' } });
      expect(german.map((hit) => hit.chunkId)).toEqual(['guide/pgvector.md#0', 'guide/pgvector.md#1']);
      // The chunk's own `kind: note` overrides its document's `kind: guide`.
      const guides = await store.vectorSearch(Z, { k: 10, filter: { kind: 'guide' } });
      expect(guides.map((hit) => hit.chunkId).sort()).toEqual(['guide/a2a.md#0', 'guide/a2a.md#1', 'guide/pgvector.md#0']);
      const anyOf = await store.vectorSearch(Z, { k: 10, filter: { page: [2, 3] } });
      expect(anyOf.map((hit) => hit.chunkId)).toEqual(['guide/a2a.md#1']);
      expect(await store.vectorSearch(X, { k: 10, filter: { page: '1' } })).toEqual([]);
      expect(await store.vectorSearch(X, { k: 10, filter: { missing: 'x' } })).toEqual([]);
      expect(await store.vectorSearch(X, { k: 10, filter: { kind: [] } })).toEqual([]);
      const combined = await store.vectorSearch(X, { k: 10, filter: { kind: 'guide', lang: 'en' }, documentIds: ['guide/a2a.md', 'notes/mcp.txt'] });
      expect(combined.map((hit) => hit.chunkId)).toEqual(['guide/a2a.md#0', 'guide/a2a.md#1']);
      const text = await store.textSearch('protocol', { filter: { kind: 'guide' } });
      expect(text.map((hit) => hit.documentId)).toEqual(['guide/a2a.md', 'guide/a2a.md']);
    });

    it('full-text search stems words, searches the chunk context, and ranks more matches first', async () => {
      const store = await seeded();
      const chunking = await store.textSearch('chunked documents');
      expect(chunking[0]?.chunkId).toBe('guide/pgvector.md#1');
      // "Streaming" appears in the first chunk's context only: the heading path is searchable too.
      const context = await store.textSearch('transport');
      expect(context.map((hit) => hit.chunkId)).toEqual(['guide/a2a.md#0']);
      const ranked = await store.textSearch('task status streaming events');
      expect(ranked[0]?.chunkId).toBe('guide/a2a.md#1');
      expect(ranked.map((hit) => hit.chunkId)).toContain('guide/a2a.md#0');
      expect(ranked.every((hit) => hit.score > 0)).toBe(true);
      expect(await store.textSearch('the of and')).toEqual([]);
      expect(await store.textSearch('kubernetes')).toEqual([]);
    });

    it('hybrid search fuses both rankings by reciprocal rank', async () => {
      const store = await seeded();
      // Vector alone ranks streaming > transport > HNSW; text matches streaming and HNSW only. The streaming
      // chunk, high in both, wins the fusion; the transport chunk keeps only its vector contribution.
      const query = { text: 'approximate streaming search', embedding: [0.8, 0.6, 0, 0] };
      const vectorOnly = await store.vectorSearch(query.embedding, { k: 3 });
      expect(vectorOnly.map((hit) => hit.chunkId)).toEqual(['guide/a2a.md#1', 'guide/a2a.md#0', 'guide/pgvector.md#0']);
      const hits = await store.hybridSearch(query, { k: 3 });
      expect(hits[0]?.chunkId).toBe('guide/a2a.md#1');
      expect(hits[0]?.vector?.rank).toBe(1);
      expect(hits[0]?.text?.rank).toBeGreaterThanOrEqual(1);
      expect(hits[0]!.score).toBeCloseTo(1 / 61 + 1 / (60 + hits[0]!.text!.rank), 10);
      const transport = hits.find((hit) => hit.chunkId === 'guide/a2a.md#0');
      expect(transport?.text).toBeUndefined();
      expect(transport?.vector?.rank).toBe(2);
      expect(hits.length).toBeLessThanOrEqual(3);
      const filtered = await store.hybridSearch(query, { k: 5, filter: { lang: 'de' } });
      expect(filtered.every((hit) => hit.documentId === 'guide/pgvector.md')).toBe(true);
    });

    it('refuses embeddings of the wrong dimension without writing anything', async () => {
      const store = await ready();
      const documents = corpus();
      documents[2] = { ...documents[2]!, chunks: [{ content: 'short vector', embedding: [1, 0] }] };
      const error = await store.upsert(documents).catch((caught: unknown) => caught);
      expect(EnsembleError.is(error, ErrorCode.InvalidRequest)).toBe(true);
      expect((error as EnsembleError).message).toContain('dimension 2');
      expect(await store.stats()).toMatchObject({ documents: 0, chunks: 0 });
      const query = await store.vectorSearch([1, 0, 0], { k: 1 }).catch((caught: unknown) => caught);
      expect(EnsembleError.is(query, ErrorCode.InvalidRequest)).toBe(true);
    });

    it('rejects an out-of-range k', async () => {
      const store = await seeded();
      for (const k of [0, -1, 1.5, 1001]) {
        const error = await store.vectorSearch(X, { k }).catch((caught: unknown) => caught);
        expect(EnsembleError.is(error, ErrorCode.InvalidRequest)).toBe(true);
      }
    });

    it('deletes a document with its chunks', async () => {
      const store = await seeded();
      expect(await store.deleteDocument('guide/a2a.md')).toBe(true);
      expect(await store.deleteDocument('guide/a2a.md')).toBe(false);
      expect(await store.stats()).toMatchObject({ documents: 2, chunks: 3 });
      expect((await store.vectorSearch(X, { k: 10 })).some((hit) => hit.documentId === 'guide/a2a.md')).toBe(false);
      expect(await store.documentInfo(['guide/a2a.md'])).toEqual(new Map());
      expect(await store.documentIds()).toEqual(['guide/pgvector.md', 'notes/mcp.txt']);
    });

    it('lists every stored document id, sorted', async () => {
      const store = await seeded();
      expect(await store.documentIds()).toEqual(['guide/a2a.md', 'guide/pgvector.md', 'notes/mcp.txt']);
    });

    it('returns copies: mutating a hit does not change the store', async () => {
      const store = await seeded();
      const [hit] = await store.vectorSearch(X, { k: 1 });
      (hit!.metadata as Record<string, unknown>)['lang'] = 'fr';
      const [again] = await store.vectorSearch(X, { k: 1 });
      expect(again!.metadata['lang']).toBe('en');
    });

    it('reset() empties the store', async () => {
      const store = await seeded();
      await store.reset();
      expect(await store.stats()).toMatchObject({ documents: 0, chunks: 0 });
      await store.upsert(corpus().slice(0, 1));
      expect(await store.stats()).toMatchObject({ documents: 1, chunks: 2 });
    });

    it('refuses to work before setup()', async () => {
      const store = await target.create(SPACE);
      open.push(store);
      const error = await store.vectorSearch(X).catch((caught: unknown) => caught);
      expect(EnsembleError.is(error, ErrorCode.Unavailable)).toBe(true);
    });
  });
}
