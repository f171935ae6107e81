import { RAG_PROMPT_SECTIONS } from '@ensemble/protocol';
import type { SearchHit } from '@ensemble/vectors';
import { describe, expect, it } from 'vitest';

import { answerSystemPrompt, buildContext, citedIndexes, describeSources, relevantHits, sourceBlock } from './context.js';

function hit(id: string, content: string, options: { similarity?: number; text?: boolean; metadata?: Record<string, unknown> } = {}): SearchHit {
  return {
    chunkId: `${id}#0`,
    documentId: id,
    ordinal: 0,
    title: `Title of ${id}`,
    source: `docs/${id}.md`,
    content,
    context: undefined,
    metadata: options.metadata ?? {},
    score: 0.03,
    ...(options.similarity === undefined ? {} : { vector: { score: options.similarity, rank: 1 } }),
    ...(options.text === true ? { text: { score: 0.1, rank: 1 } } : {}),
  };
}

/** One token per word: easy budgets to reason about. */
const words = (text: string) => text.split(/\s+/).filter((word) => word !== '').length;

describe('relevantHits', () => {
  const hits = [hit('a', 'x', { similarity: 0.5, text: true }), hit('b', 'x', { similarity: 0.3 }), hit('c', 'x', { similarity: 0.1, text: true }), hit('d', 'x', { text: true })];

  it('keeps hits at or above the similarity threshold, in ranking order', () => {
    expect(relevantHits(hits, { minScore: 0.3, requireTextMatch: false }).map((entry) => [entry.hit.documentId, entry.similarity])).toEqual([
      ['a', 0.5],
      ['b', 0.3],
    ]);
  });

  it('drops text-only hits, and with requireTextMatch hits that share no term with the question', () => {
    expect(relevantHits(hits, { minScore: -1, requireTextMatch: false }).map((entry) => entry.hit.documentId)).toEqual(['a', 'b', 'c']);
    expect(relevantHits(hits, { minScore: -1, requireTextMatch: true }).map((entry) => entry.hit.documentId)).toEqual(['a', 'c']);
  });
});

describe('buildContext', () => {
  const ten = 'one two three four five six seven eight nine ten';

  it('numbers sources in rank order and stops adding what does not fit', () => {
    const blockTokens = words(sourceBlock(1, hit('a', ten), ten));
    const relevant = ['a', 'b', 'c'].map((id) => ({ hit: hit(id, ten), similarity: 0.4 }));
    const context = buildContext(relevant, blockTokens * 2 + 1, words);
    expect(context.sources.map((source) => [source.index, source.hit.documentId])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    expect(context.dropped).toBe(1);
    expect(context.tokens).toBe(blockTokens * 2);
    expect(context.tokens).toBeLessThanOrEqual(blockTokens * 2 + 1);
  });

  it('skips a chunk too big for what is left but takes a smaller one after it', () => {
    const long = `${ten} ${ten} ${ten}`;
    const small = words(sourceBlock(1, hit('a', 'short text'), 'short text'));
    const relevant = [hit('a', 'short text'), hit('big', long), hit('c', 'tiny')].map((entry) => ({ hit: entry, similarity: 0.4 }));
    const context = buildContext(relevant, small * 2, words);
    expect(context.sources.map((source) => [source.index, source.hit.documentId])).toEqual([
      [1, 'a'],
      [2, 'c'],
    ]);
    expect(context.dropped).toBe(1);
  });

  it('cuts the best chunk to the budget rather than answering from nothing', () => {
    const long = Array.from({ length: 200 }, (_, index) => `word${index}`).join(' ');
    const context = buildContext([{ hit: hit('a', long), similarity: 0.6 }], 40, words);
    expect(context.sources).toHaveLength(1);
    const [source] = context.sources;
    expect(source!.truncated).toBe(true);
    expect(source!.tokens).toBeLessThanOrEqual(40);
    expect(source!.tokens).toBeGreaterThan(30);
    expect(source!.block).toMatch(/^\[1\] Title of a \(docs\/a\.md\)\nword0 word1 /);
    expect(source!.block.endsWith(' …')).toBe(true);
  });

  it('returns nothing for nothing', () => {
    expect(buildContext([], 100, words)).toEqual({ sources: [], tokens: 0, dropped: 0 });
  });
});

describe('sourceBlock', () => {
  it('shows title, source and location on the opening line', () => {
    const located = hit('a', 'Body.', { metadata: { headingPath: ['Guide', 'Setup'], page: 3 } });
    expect(sourceBlock(4, located, located.content)).toBe('[4] Title of a (docs/a.md, section: Guide > Setup, page 3)\nBody.');
  });

  it('keeps chunk lines that start with [n] from opening a new source', () => {
    const block = sourceBlock(1, hit('a', ''), 'See the note.\n[2] a reference-style link\nEnd.');
    expect(block.split('\n').filter((line) => /^\[\d+\]/.test(line))).toHaveLength(1);
    expect(block).toContain('\n [2] a reference-style link');
  });
});

describe('answerSystemPrompt', () => {
  it('lists the sources after the sources header', () => {
    const context = buildContext([{ hit: hit('a', 'Alpha text.'), similarity: 0.5 }], 1000, words);
    const prompt = answerSystemPrompt(context.sources);
    expect(prompt).toContain(`${RAG_PROMPT_SECTIONS.sources}\n[1] Title of a (docs/a.md)\nAlpha text.`);
    expect(prompt).toContain('[1] or [2][3]');
  });

  it('says when there are no sources', () => {
    expect(answerSystemPrompt([])).toContain(RAG_PROMPT_SECTIONS.noSources);
    expect(answerSystemPrompt([])).not.toContain(RAG_PROMPT_SECTIONS.sources);
  });
});

describe('citedIndexes', () => {
  it('reads [n], [n][m] and [n, m] markers within range', () => {
    expect([...citedIndexes('A [1]. B [2][3]. C [1, 4]. D [9]. E [0].', 4)].sort()).toEqual([1, 2, 3, 4]);
    expect(citedIndexes('No citations here.', 3).size).toBe(0);
  });
});

describe('describeSources', () => {
  it('lists document, chunk, score, title, location and whether the answer cites it', () => {
    const located = hit('a', `${'long text '.repeat(40)}end`, { metadata: { headingPath: ['Top'], charStart: 10, charEnd: 420, page: 0 } });
    const context = buildContext(
      [
        { hit: located, similarity: 0.123456 },
        { hit: hit('b', 'B.'), similarity: 0.2 },
      ],
      10_000,
      words,
    );
    const sources = describeSources(context.sources, new Set([2]));
    expect(sources[0]).toMatchObject({
      index: 1,
      documentId: 'a',
      chunkId: 'a#0',
      chunk: 0,
      title: 'Title of a',
      source: 'docs/a.md',
      score: 0.1235,
      location: { headingPath: ['Top'], charStart: 10, charEnd: 420 },
      cited: false,
    });
    expect(sources[0]!.location).not.toHaveProperty('page');
    expect(sources[0]!.excerpt.length).toBeLessThanOrEqual(240);
    expect(sources[1]).toMatchObject({ index: 2, documentId: 'b', cited: true, excerpt: 'B.', location: { headingPath: [] } });
  });
});
