import type { Embedder } from './embedder.js';
import { STOPWORDS, normalizedWords, stem } from './text-terms.js';

export const LEXICAL_MODEL = 'ensemble-lexical-v1';
export const LEXICAL_DEFAULT_DIMENSION = 384;

export interface LexicalEmbedderOptions {
  /** Vector length (default 384). Any positive integer; more dimensions mean fewer hash collisions. */
  dimension?: number;
}

/** Feature weights, relative to a content word. */
const WEIGHT_WORD = 1;
const WEIGHT_BIGRAM = 0.6;
const WEIGHT_CHAR_NGRAM = 0.25;

/**
 * An offline, deterministic embedding: feature hashing of normalised words, word bigrams and character
 * trigrams into a fixed number of dimensions, with sublinear term frequency and L2 normalisation.
 *
 * It is LEXICAL, NOT SEMANTIC: texts are close when they share words (after stemming) or spelling, so
 * "car" and "automobile" are unrelated to it. Good enough for offline demos, tests and keyword-heavy
 * corpora; use an OpenAI-compatible embedding model for meaning. Same text, same vector, on every machine
 * and every version of this model name (a change of the algorithm must change `LEXICAL_MODEL`).
 */
export class LexicalEmbedder implements Embedder {
  readonly model = LEXICAL_MODEL;
  readonly dimension: number;

  constructor(options: LexicalEmbedderOptions = {}) {
    const dimension = options.dimension ?? LEXICAL_DEFAULT_DIMENSION;
    if (!Number.isInteger(dimension) || dimension < 1) throw new RangeError(`LexicalEmbedder dimension must be a positive integer (got ${dimension})`);
    this.dimension = dimension;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    return texts.map((text) => this.embedOne(text));
  }

  /** Synchronous form of `embed` for one text. */
  embedOne(text: string): number[] {
    const features = new Map<string, number>();
    const add = (feature: string, weight: number) => features.set(feature, (features.get(feature) ?? 0) + weight);

    let previous: string | undefined;
    for (const word of normalizedWords(text)) {
      if (STOPWORDS.has(word)) {
        previous = undefined;
        continue;
      }
      const stemmed = stem(word);
      add(`w:${stemmed}`, WEIGHT_WORD);
      if (previous !== undefined) add(`b:${previous} ${stemmed}`, WEIGHT_BIGRAM);
      previous = stemmed;
      const padded = `<${word}>`;
      for (let start = 0; start + 3 <= padded.length; start += 1) add(`c:${padded.slice(start, start + 3)}`, WEIGHT_CHAR_NGRAM);
    }

    const vector = new Float64Array(this.dimension);
    for (const [feature, weight] of features) {
      // Sublinear term frequency: the tenth repetition of a word adds far less than the first.
      const value = weight > 0 ? Math.log1p(weight) : 0;
      const hash = fnv1a(feature);
      const index = hash % this.dimension;
      // Signed hashing: collisions cancel out on average instead of always adding up.
      const sign = (mix(hash) & 1) === 0 ? 1 : -1;
      vector[index] = (vector[index] ?? 0) + sign * value;
    }
    let norm = 0;
    for (const value of vector) norm += value * value;
    norm = Math.sqrt(norm);
    const result = new Array<number>(this.dimension);
    for (let index = 0; index < this.dimension; index += 1) result[index] = norm === 0 ? 0 : (vector[index] ?? 0) / norm;
    return result;
  }
}

/** 32-bit FNV-1a over UTF-16 code units; unsigned. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's finaliser: decorrelates the sign bit from the bucket index. */
function mix(value: number): number {
  let hash = value;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
