/**
 * Features of one request text for the local routing model: hashed word unigrams and bigrams, the
 * opening words (the imperative that usually says what is asked), hashed character 4-grams (so that
 * inflections, other languages and scripts without spaces still share features), and a few structural
 * counts. The work is bounded: a long text is cut to its head and tail first, where the instruction is
 * (a pasted document in the middle is material, not the ask), so a 100 kB prompt costs what a 1 kB one does.
 */

/** How the text is turned into features; stored with a model so that training and serving agree. */
export interface FeatureSpec {
  /** Hashed buckets (a power of two). */
  buckets: number;
  /** Characters kept from the start of a long text. */
  headChars: number;
  /** Characters kept from the end of a long text. */
  tailChars: number;
}

/** The structural features, in the order of a model's `structuralWeights`. */
export const STRUCTURAL_FEATURES = [
  'log_words',
  'lines',
  'list_items',
  'questions',
  'sentences',
  'commas',
  'long_text',
  'pasted_block',
  'live_or_dated',
  'system_nouns',
  'opens_with_action',
  'opens_with_question_or_edit',
  'action_verbs',
  'sequence_markers',
] as const;

/** A sparse feature vector: hashed bucket indices with their values, plus the dense structural part. */
export interface FeatureVector {
  indices: number[];
  values: number[];
  structural: number[];
}

const WORD = /[\p{L}\p{N}]+/gu;

// Cue groups: words that, pooled, say "this needs fresh data, the user's own systems, or several
// actions" (orchestration) or "this is one question or one edit of given text" (a direct answer). The
// model weighs them; the lists only pool evidence the few hundred training prompts cannot give word by word.
const LIVE_OR_DATED =
  /\b(?:right now|now|currently|current|latest|today|tonight|tomorrow|yesterday|this (?:week|month|quarter|morning|afternoon)|last (?:night|week|month|quarter|year)|next (?:week|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|at the moment|en ce moment|actuel(?:le)?s?|aktuell(?:en)?|heute|morgen|actuales|atuais|attuali|сейчас)\b|明天|今天|今週|現在/giu;
const SYSTEM_NOUNS =
  /\b(?:inbox|calendar|emails?|database|db|repo|repository|jira|slack|dashboards?|logs?|tickets?|crm|spreadsheet|drive|folder|wiki|knowledge base|confluence|shopify|stripe|github|production|staging|prod|pr|pull requests?|cluster|account|bucket|warehouse|analytics|zendesk|greenhouse|pagerduty|grafana|prometheus|s3|vault|erp|bill|invoices?|orders?|customers?|our|my)\b/giu;
const ACTION_VERB = String.raw`(?:send|email|book|schedule|deploy|delete|order|cancel|create|open|restart|refund|buy|pay|transfer|post|publish|merge|run|remind|reserve|renew|revoke|rotate|terminate|scale|back up|find|check|search|look (?:up|into|at|through)|pull|fetch|monitor|research|investigate|gather|collect|compare|evaluate|plan|organi[sz]e|prepare|analy[sz]e|audit|review|go through|query|scrape|call|coordinate|figure out|set up|estimate|examine|dig|survey|read|assign|notify|upload|push|update|move|block|drop|issue|enrich|score|rank|benchmark|extract|recherch\w*|compar\w*|réserv\w*|envo\w*|buch\w*|lösch\w*|prüf\w*|finde|investiga|revisa|despliega|pesquis\w*|reserv\w*|cerca|prenota|zoek|найди|сравни)`;
const ACTION_VERBS = new RegExp(String.raw`\b${ACTION_VERB}\b`, 'giu');
const OPENS_WITH_ACTION = new RegExp(String.raw`^\s*(?:please\s+|can you\s+|could you\s+|hey,?\s+)?${ACTION_VERB}\b`, 'iu');
const OPENS_WITH_QUESTION_OR_EDIT =
  /^\s*(?:please\s+|can you\s+|could you\s+)?(?:what|what's|how|why|who|when|where|is|are|can|do|does|define|explain|describe|summari[sz]e|translate|rewrite|rephrase|proofread|shorten|condense|fix|format|convert|correct|write|draft|give|tell|make|turn|suggest|brainstorm|come up|tl;?dr|qu[e']|quel(?:le)?|comment|was|wie|warum|qué|cómo|cuál|qual|come|cosa|wat|hoe|что|как|traduis|traduce|übersetze|résume|erkläre|spiegami|escribe|corrige|schreib)\b/iu;
const SEQUENCE_MARKERS = /\b(?:then|and then|after that|afterwards|finally|once|if|puis|ensuite|danach|dann|luego|después|depois|poi)\b|然后|してから/giu;
const LIST_ITEM = /^\s*(?:\d+[.)]|[-*•])\s+\S/gm;
const SENTENCE_END = /[.!?;。！？]+(?:\s|$)/g;

/** The part of a text the features are computed from: all of it, or its head and tail when long. */
export function featureWindow(text: string, spec: FeatureSpec): string {
  const limit = spec.headChars + spec.tailChars;
  if (text.length <= limit) return text;
  return `${text.slice(0, spec.headChars)}\n…\n${text.slice(text.length - spec.tailChars)}`;
}

export function extractFeatures(text: string, spec: FeatureSpec): FeatureVector {
  const window = featureWindow(text, spec).toLowerCase();
  const counts = new Map<number, number>();
  const mask = spec.buckets - 1;
  const add = (hash: number) => {
    // The top bit gives a sign, so colliding features cancel out on average instead of adding up.
    const signed = hash >>> 31 === 0 ? 1 : -1;
    const bucket = hash & mask;
    counts.set(bucket, (counts.get(bucket) ?? 0) + signed);
  };

  const words = window.match(WORD) ?? [];
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index]!;
    add(hashString(word, SEED_WORD));
    if (index > 0) add(hashString(word, hashString(words[index - 1]!, SEED_BIGRAM)));
  }
  if (words.length > 0) add(hashString(words[0]!, SEED_FIRST));
  if (words.length > 1) add(hashString(words[1]!, hashString(words[0]!, SEED_FIRST_TWO)));
  addCharGrams(window, 4, add);

  // L2-normalised so that a long text does not shout louder than a short one.
  let norm = 0;
  for (const value of counts.values()) norm += value * value;
  norm = Math.sqrt(norm) || 1;
  const indices: number[] = [];
  const values: number[] = [];
  for (const [bucket, value] of counts) {
    if (value === 0) continue;
    indices.push(bucket);
    values.push(value / norm);
  }

  return { indices, values, structural: structuralFeatures(text, words.length, spec) };
}

function structuralFeatures(text: string, wordCount: number, spec: FeatureSpec): number[] {
  const window = featureWindow(text, spec);
  const lines = window.split('\n').length;
  const listItems = window.match(LIST_ITEM)?.length ?? 0;
  const questions = countChar(window, '?') + countChar(window, '？');
  const sentences = window.match(SENTENCE_END)?.length ?? 0;
  const commas = countChar(window, ',') + countChar(window, '，') + countChar(window, '、');
  // "Summarise this:\n<text>" and friends: an instruction, then material on its own lines.
  const pastedBlock = /[:：]\s*\n/.test(window) ? 1 : 0;
  return [
    Math.log1p(wordCount) / 5,
    Math.min(lines, 20) / 10,
    Math.min(listItems, 10) / 5,
    Math.min(questions, 5) / 3,
    Math.min(sentences, 10) / 5,
    Math.min(commas, 10) / 5,
    text.length > spec.headChars + spec.tailChars ? 1 : 0,
    pastedBlock,
    Math.min(count(window, LIVE_OR_DATED), 3) / 2,
    Math.min(count(window, SYSTEM_NOUNS), 6) / 3,
    OPENS_WITH_ACTION.test(window) ? 1 : 0,
    OPENS_WITH_QUESTION_OR_EDIT.test(window) ? 1 : 0,
    Math.min(count(window, ACTION_VERBS), 6) / 3,
    Math.min(count(window, SEQUENCE_MARKERS), 4) / 2,
  ];
}

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

function countChar(text: string, char: string): number {
  let count = 0;
  for (let index = text.indexOf(char); index !== -1; index = text.indexOf(char, index + 1)) count += 1;
  return count;
}

const SEED_WORD = 0x811c9dc5;
const SEED_BIGRAM = 0x01000193;
const SEED_FIRST = 0x5bd1e995;
const SEED_FIRST_TWO = 0x27d4eb2f;
const SEED_CHARS = 0x165667b1;

/** FNV-1a (32 bit) over UTF-16 code units, from `seed`. */
function hashString(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Character n-grams of the text with runs of whitespace as one space, hashed without building substrings. */
function addCharGrams(text: string, n: number, add: (hash: number) => void): void {
  const codes: number[] = [];
  let previousSpace = true;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    const space = code === 32 || code === 10 || code === 13 || code === 9;
    if (space && previousSpace) continue;
    codes.push(space ? 32 : code);
    previousSpace = space;
  }
  for (let start = 0; start + n <= codes.length; start += 1) {
    let hash = SEED_CHARS;
    for (let offset = 0; offset < n; offset += 1) {
      hash ^= codes[start + offset]!;
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    add(hash);
  }
}
