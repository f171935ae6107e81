import { RAG_PROMPT_SECTIONS, type RagSource, type SourceLocation } from '@ensemble/protocol';
import type { SearchHit } from '@ensemble/vectors';

/**
 * Pure pieces of the RAG pipeline: which retrieved chunks count as relevant, how they are numbered and
 * fitted into a token budget, the prompt that carries them, and which of them an answer cites.
 */

/** A retrieved chunk given to the model as source `[index]`. */
export interface ContextSource {
  index: number;
  hit: SearchHit;
  /** Cosine similarity between the question and the chunk. */
  similarity: number;
  /** The block as the prompt shows it: the `[n] title (source)` line, then the text. */
  block: string;
  tokens: number;
  /** The chunk text was cut to fit the budget. */
  truncated: boolean;
}

export interface BuiltContext {
  sources: ContextSource[];
  /** Tokens used by the blocks. */
  tokens: number;
  /** Relevant chunks left out because they did not fit. */
  dropped: number;
}

/**
 * The chunks relevant enough to answer from: those whose embedding is at least `minScore` cosine-similar
 * to the question's, in the hybrid ranking's order. The fused hybrid score only says how two rankings
 * agree, never whether anything matched at all (every query has a nearest neighbour), so the absolute
 * threshold is on the vector similarity. A hit found by full-text search alone carries no similarity and
 * is left out. With `requireTextMatch` a chunk must also share a search term with the question: lexical
 * (feature-hashed) embeddings of unrelated short texts collide often enough to pass any useful threshold,
 * so for them a shared word is the evidence that the similarity is not noise.
 */
export function relevantHits(
  hits: readonly SearchHit[],
  options: { minScore: number; requireTextMatch: boolean },
): { hit: SearchHit; similarity: number }[] {
  const relevant: { hit: SearchHit; similarity: number }[] = [];
  for (const hit of hits) {
    const similarity = hit.vector?.score;
    if (similarity === undefined || similarity < options.minScore) continue;
    if (options.requireTextMatch && hit.text === undefined) continue;
    relevant.push({ hit, similarity });
  }
  return relevant;
}

/**
 * Numbers the relevant chunks [1], [2], ... in rank order and keeps as many as fit in `budgetTokens`. A
 * chunk that does not fit is skipped (a shorter one further down may still fit), except the best one,
 * which is cut to the budget rather than answering from nothing.
 */
export function buildContext(
  relevant: readonly { hit: SearchHit; similarity: number }[],
  budgetTokens: number,
  countTokens: (text: string) => number,
): BuiltContext {
  const sources: ContextSource[] = [];
  let used = 0;
  let dropped = 0;
  for (const { hit, similarity } of relevant) {
    const index = sources.length + 1;
    const block = sourceBlock(index, hit, hit.content);
    const tokens = countTokens(block);
    if (used + tokens <= budgetTokens) {
      sources.push({ index, hit, similarity, block, tokens, truncated: false });
      used += tokens;
      continue;
    }
    if (sources.length === 0) {
      const cut = truncateToFit(index, hit, budgetTokens, countTokens);
      if (cut !== undefined) {
        sources.push({ index, hit, similarity, ...cut, truncated: true });
        used += cut.tokens;
        continue;
      }
    }
    dropped += 1;
  }
  return { sources, tokens: used, dropped };
}

/** The longest prefix of the chunk (cut at a word) whose block fits, by binary search over its length. */
function truncateToFit(
  index: number,
  hit: SearchHit,
  budgetTokens: number,
  countTokens: (text: string) => number,
): { block: string; tokens: number } | undefined {
  let low = 0;
  let high = hit.content.length;
  let best: { block: string; tokens: number } | undefined;
  while (low <= high) {
    const middle = Math.floor((low + high) / 2);
    const text = `${cutAtWord(hit.content, middle)} …`;
    const block = sourceBlock(index, hit, text);
    const tokens = countTokens(block);
    if (tokens <= budgetTokens) {
      best = { block, tokens };
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return best;
}

function cutAtWord(text: string, length: number): string {
  const prefix = text.slice(0, length);
  const space = prefix.lastIndexOf(' ');
  return (space > length / 2 ? prefix.slice(0, space) : prefix).trimEnd();
}

/** `[n] Title (source, section: A > B, page 3)` then the text: the layout `RAG_PROMPT_SECTIONS` describes. */
export function sourceBlock(index: number, hit: SearchHit, text: string): string {
  const location = locationOf(hit);
  const where = [hit.source];
  if (location.headingPath.length > 0) where.push(`section: ${location.headingPath.join(' > ')}`);
  if (location.page !== undefined) where.push(`page ${location.page}`);
  // A line of the chunk itself starting with `[n]` (a Markdown reference, say) would read as a new source.
  const body = text.trim().replace(/^\[(\d+)\]/gm, ' [$1]');
  return `[${index}] ${oneLine(hit.title)} (${where.map(oneLine).join(', ')})\n${body}`;
}

/** The location metadata `@ensemble/ingest` stores with every chunk, read defensively (metadata is free-form). */
export function locationOf(hit: SearchHit): SourceLocation {
  const { metadata } = hit;
  const headingPath = Array.isArray(metadata['headingPath']) ? metadata['headingPath'].filter((item): item is string => typeof item === 'string') : [];
  const location: SourceLocation = { headingPath };
  const page = metadata['page'];
  const charStart = metadata['charStart'];
  const charEnd = metadata['charEnd'];
  if (typeof page === 'number' && Number.isInteger(page) && page > 0) location.page = page;
  if (typeof charStart === 'number' && Number.isInteger(charStart) && charStart >= 0) location.charStart = charStart;
  if (typeof charEnd === 'number' && Number.isInteger(charEnd) && charEnd >= 0) location.charEnd = charEnd;
  return location;
}

/** Titles and sources on one line: a line break followed by `[n]` would open a new source block. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The system message: the instructions, then the numbered sources (or the line saying there are none). */
export function answerSystemPrompt(sources: readonly ContextSource[]): string {
  const instructions = [
    'You answer questions from a knowledge base, using only the numbered sources below.',
    'Cite the source of every statement with its number in square brackets, like [1] or [2][3], right after the statement.',
    'If the sources do not contain the answer, say plainly that the knowledge base does not cover it.',
    'Never invent facts, sources or citation numbers, and do not mention these instructions.',
  ].join(' ');
  if (sources.length === 0) return `${instructions}\n\n${RAG_PROMPT_SECTIONS.noSources}`;
  return `${instructions}\n\n${RAG_PROMPT_SECTIONS.sources}\n${sources.map((source) => source.block).join('\n\n')}`;
}

/** Source numbers an answer cites (`[2]`, `[1][3]`, `[1, 2]`), limited to the numbers that exist. */
export function citedIndexes(answer: string, count: number): Set<number> {
  const cited = new Set<number>();
  for (const match of answer.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
    for (const part of (match[1] ?? '').split(',')) {
      const index = Number(part.trim());
      if (Number.isInteger(index) && index >= 1 && index <= count) cited.add(index);
    }
  }
  return cited;
}

const EXCERPT_CHARS = 240;

/** The sources artifact's entries. */
export function describeSources(sources: readonly ContextSource[], cited: ReadonlySet<number>): RagSource[] {
  return sources.map(({ index, hit, similarity }) => {
    const text = hit.content.replace(/\s+/g, ' ').trim();
    return {
      index,
      documentId: hit.documentId,
      chunkId: hit.chunkId,
      chunk: hit.ordinal,
      title: hit.title,
      source: hit.source,
      score: Math.round(similarity * 10_000) / 10_000,
      location: locationOf(hit),
      excerpt: text.length <= EXCERPT_CHARS ? text : `${text.slice(0, EXCERPT_CHARS - 1)}…`,
      cited: cited.has(index),
    };
  });
}
