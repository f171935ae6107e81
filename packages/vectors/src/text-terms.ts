/**
 * Text normalisation shared by the lexical embedder and the in-memory full-text search: Unicode NFKD with
 * combining marks removed ("café" → "cafe"), lower case, split on anything that is not a letter or digit.
 * Kept free of imports so the lexical embedder can be loaded anywhere (sim-llm uses it).
 */

/** Common English function words: they carry little meaning and would dominate lexical similarity. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being below between both but by ' +
    'can could did do does doing down during each few for from further had has have having he her here hers herself him ' +
    'himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other ' +
    'our ours ourselves out over own same she should so some such than that the their theirs them themselves then there ' +
    'these they this those through to too under until up very was we were what when where which while who whom why will ' +
    'with would you your yours yourself yourselves'
  ).split(' '),
);

const WORD = /[\p{L}\p{N}]+/gu;
const COMBINING_MARKS = /\p{M}+/gu;

/** Normalised words of `text`, in order, stopwords included. */
export function normalizedWords(text: string): string[] {
  const folded = text.normalize('NFKD').replace(COMBINING_MARKS, '').toLowerCase();
  return folded.match(WORD) ?? [];
}

/**
 * A deliberately small suffix stripper (plural and common verb endings). It only has to map "chunks" and
 * "chunking" to one term; a full Porter stemmer would not change rankings enough to be worth it here.
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  for (const [suffix, replacement] of SUFFIXES) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) return word.slice(0, -suffix.length) + replacement;
  }
  return word;
}

const SUFFIXES: ReadonlyArray<readonly [string, string]> = [
  ['ies', 'y'],
  ['sses', 'ss'],
  ['ing', ''],
  ['edly', ''],
  ['ed', ''],
  ['ly', ''],
  ['es', ''],
  // "process" and "class" are not plurals.
  ['ss', 'ss'],
  ['s', ''],
];

/** Stemmed content words: what full-text search matches on. */
export function textTerms(text: string): string[] {
  return normalizedWords(text)
    .filter((word) => !STOPWORDS.has(word))
    .map(stem);
}
