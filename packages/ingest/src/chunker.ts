import { EnsembleError, ErrorCode } from '@ensemble/protocol';

import { countTokens } from './tokens.js';
import type { Block, Chunk, LoadedDocument, Section } from './types.js';

export interface ChunkingOptions {
  /** Upper bound of a chunk's content, in cl100k_base tokens (default 350). */
  maxTokens?: number;
  /**
   * Tokens repeated from the end of the previous chunk when a section continues in a new chunk (default 50),
   * so a sentence cut at a boundary is still whole in one of them. Never crosses a heading.
   */
  overlapTokens?: number;
}

/** Bump when the chunking output changes for the same input: ingestion then re-chunks every document. */
export const CHUNKER_VERSION = 1;

export const DEFAULT_CHUNKING: Readonly<Required<ChunkingOptions>> = { maxTokens: 350, overlapTokens: 50 };

/** A piece of a section's text: a whole block, a sentence of a long block, or a slice of a huge sentence. */
interface Piece {
  text: string;
  start: number;
  end: number;
  tokens: number;
  /** What goes between this piece and the one before it in a chunk. */
  joiner: string;
}

const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

export function resolveChunking(options: ChunkingOptions = {}): Required<ChunkingOptions> {
  const resolved = { ...DEFAULT_CHUNKING, ...options };
  if (!Number.isInteger(resolved.maxTokens) || resolved.maxTokens < 16 || resolved.maxTokens > 8000) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `maxTokens must be an integer in 16..8000 (got ${resolved.maxTokens})`);
  }
  if (!Number.isInteger(resolved.overlapTokens) || resolved.overlapTokens < 0 || resolved.overlapTokens >= resolved.maxTokens / 2) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `overlapTokens must be an integer from 0 to under half of maxTokens (got ${resolved.overlapTokens})`);
  }
  return resolved;
}

/**
 * Structure-aware chunking: a chunk never spans two sections (headings, PDF pages), so its heading path and
 * page are exact. Within a section whole blocks (paragraphs, lists, code) are packed up to `maxTokens`; a
 * block too big alone is split at sentence boundaries (code at line breaks), and a sentence too big alone at
 * word boundaries. Consecutive chunks of one section share up to `overlapTokens` of text.
 */
export function chunkDocument(document: LoadedDocument, options: ChunkingOptions = {}): Chunk[] {
  const { maxTokens, overlapTokens } = resolveChunking(options);
  const chunks: Chunk[] = [];
  for (const section of document.sections) {
    const pieces = section.blocks.flatMap((block) => piecesOf(block, maxTokens));
    let current: Piece[] = [];
    let currentTokens = 0;
    for (const piece of pieces) {
      if (current.length > 0 && currentTokens + piece.tokens + 1 > maxTokens) {
        chunks.push(toChunk(document, section, current));
        current = overlapOf(current, Math.min(overlapTokens, maxTokens - piece.tokens - 1));
        currentTokens = current.reduce((sum, entry) => sum + entry.tokens + 1, 0);
      }
      current.push(piece);
      currentTokens += piece.tokens + 1;
    }
    if (current.length > 0) chunks.push(toChunk(document, section, current));
  }
  return chunks;
}

function piecesOf(block: Block, maxTokens: number): Piece[] {
  const tokens = countTokens(block.text);
  if (tokens <= maxTokens) return [{ text: block.text, start: block.charStart, end: block.charEnd, tokens, joiner: '\n\n' }];
  // Finer and finer cuts, only as far as needed: list items (or code lines), then sentences, then words.
  const levels: Array<(text: string) => Part[]> = block.kind === 'code' ? [linesOf, wordsOf(maxTokens)] : [listItemsOf, sentencesOf, wordsOf(maxTokens)];
  const pieces = splitToFit({ text: block.text, offset: 0 }, levels, maxTokens).map((part): Piece => {
    const start = block.charStart + part.offset;
    return { text: part.text, start, end: start + part.text.length, tokens: countTokens(part.text), joiner: '' };
  });
  // Between two pieces of one block goes the block's own text between them (a space, a line break), so
  // lists and code keep their layout; before the first goes the paragraph break.
  pieces.forEach((piece, index) => {
    const previous = pieces[index - 1];
    piece.joiner = previous === undefined ? '\n\n' : block.text.slice(previous.end - block.charStart, piece.start - block.charStart) || ' ';
  });
  return pieces;
}

function splitToFit(part: Part, levels: ReadonlyArray<(text: string) => Part[]>, maxTokens: number): Part[] {
  const [split, ...finer] = levels;
  if (split === undefined || countTokens(part.text) <= maxTokens) return [part];
  const pieces = split(part.text);
  // A cut that does not divide (one list item, one sentence) moves straight to the next level.
  if (pieces.length <= 1) return finer.length === 0 ? pieces.map((piece) => ({ ...piece, offset: part.offset + piece.offset })) : splitToFit(part, finer, maxTokens);
  return pieces.flatMap((piece) => splitToFit({ text: piece.text, offset: part.offset + piece.offset }, finer, maxTokens));
}

/** The tail of a finished chunk to repeat at the start of the next: whole pieces, else trailing sentences. */
function overlapOf(previous: readonly Piece[], budget: number): Piece[] {
  if (budget <= 0) return [];
  const overlap: Piece[] = [];
  let used = 0;
  for (let index = previous.length - 1; index >= 0; index -= 1) {
    const piece = previous[index]!;
    if (used + piece.tokens + 1 <= budget) {
      overlap.unshift(piece);
      used += piece.tokens + 1;
      continue;
    }
    // The piece is too long to repeat whole: repeat its last sentences that fit.
    const sentences = sentencesOf(piece.text);
    for (let sentence = sentences.length - 1; sentence > 0; sentence -= 1) {
      const part = sentences[sentence]!;
      const tokens = countTokens(part.text);
      if (used + tokens + 1 > budget) break;
      const start = piece.start + part.offset;
      const previousPart = sentences[sentence - 1]!;
      const joiner = piece.text.slice(previousPart.offset + previousPart.text.length, part.offset) || ' ';
      overlap.unshift({ text: part.text, start, end: start + part.text.length, tokens, joiner });
      used += tokens + 1;
    }
    break;
  }
  return overlap;
}

function toChunk(document: LoadedDocument, section: Section, pieces: readonly Piece[]): Chunk {
  const content = pieces.map((piece, index) => (index === 0 ? piece.text : piece.joiner + piece.text)).join('');
  const context = [document.title, ...section.headingPath.filter((heading) => heading !== document.title)].join(' > ');
  return {
    content,
    context,
    tokens: countTokens(content),
    metadata: {
      headingPath: [...section.headingPath],
      ...(section.page === undefined ? {} : { page: section.page }),
      charStart: pieces[0]!.start,
      charEnd: pieces[pieces.length - 1]!.end,
    },
  };
}

interface Part {
  text: string;
  /** Offset of `text` in the string it was cut from. */
  offset: number;
}

function sentencesOf(text: string): Part[] {
  const parts: Part[] = [];
  for (const { segment, index } of sentenceSegmenter.segment(text)) {
    const trimmed = segment.trimEnd();
    const lead = trimmed.length - trimmed.trimStart().length;
    if (trimmed.trim().length > 0) parts.push({ text: trimmed.trimStart(), offset: index + lead });
  }
  return parts;
}

const LIST_ITEM = /^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]/;

/** Markdown list items (an item runs until the next line that starts one). */
function listItemsOf(text: string): Part[] {
  const items: Part[] = [];
  for (const line of linesOf(text)) {
    const last = items[items.length - 1];
    if (last === undefined || LIST_ITEM.test(line.text)) items.push({ ...line });
    else last.text = text.slice(last.offset, line.offset + line.text.length);
  }
  return items;
}

function linesOf(text: string): Part[] {
  const parts: Part[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    if (line.trim().length > 0) parts.push({ text: line, offset });
    offset += line.length + 1;
  }
  return parts;
}

/**
 * Cuts an over-long run of text at whitespace into slices of at most `maxTokens` tokens. Counts each word
 * with its leading space, which is how cl100k_base pre-splits text, so the sum matches the real count
 * without re-encoding the growing slice (linear, not quadratic, in the length).
 */
const wordsOf =
  (maxTokens: number) =>
  (text: string): Part[] =>
    slicesOf(text, maxTokens);

function slicesOf(text: string, maxTokens: number): Part[] {
  const slices: Part[] = [];
  let sliceStart: number | undefined;
  let sliceEnd = 0;
  let used = 0;
  for (const word of text.matchAll(/\S+/g)) {
    const tokens = countTokens(` ${word[0]}`);
    if (sliceStart !== undefined && used + tokens > maxTokens) {
      slices.push({ text: text.slice(sliceStart, sliceEnd), offset: sliceStart });
      sliceStart = undefined;
      used = 0;
    }
    sliceStart ??= word.index;
    sliceEnd = word.index + word[0].length;
    used += tokens;
  }
  if (sliceStart !== undefined) slices.push({ text: text.slice(sliceStart, sliceEnd), offset: sliceStart });
  return slices;
}
