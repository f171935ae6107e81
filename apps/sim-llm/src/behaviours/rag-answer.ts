import { RAG_PROMPT_SECTIONS, RagSourcesResult, messageText } from '@ensemble/protocol';

import type { SimRequest } from '../sim-request.js';
import type { SimBehaviour } from './types.js';
import { readEmbeddedJson } from './embedded-json.js';
import { stems } from './terms.js';

/**
 * Stands in for the RAG agent's answering model. The agent puts numbered sources in its system message
 * (layout: `RAG_PROMPT_SECTIONS` in `@ensemble/protocol`); this behaviour answers from them the way a
 * grounded model should, and deterministically:
 *
 * - it picks the (at most two) sources sharing the most content words with the question, and from each
 *   the sentence sharing the most, quoting it with the source's citation marker (`... [2].`);
 * - when no source shares a word with the question it quotes the first sentence of source [1];
 * - when the system message says no sources were found, it says nothing relevant was found, and never
 *   makes anything up.
 */
export const ragAnswer: SimBehaviour = {
  name: 'rag-answer',
  matches: (request) => request.responseFormat === 'text' && typeof request.toolChoice !== 'object' && request.toolChoice !== 'required' && ragPrompt(request) !== undefined,
  reply: (request) => {
    const prompt = ragPrompt(request);
    const question = request.lastUserText.replace(/\s+/g, ' ').trim();
    if (prompt === undefined || prompt.sources.length === 0) {
      return { content: `[sim-llm] I found nothing relevant in the knowledge base to answer "${excerpt(question)}", so I cannot answer it from the sources.` };
    }
    return { content: answerFromSources(question, prompt.sources) };
  },
};

/**
 * Stands in for a model that writes a final answer from other agents' results (the orchestrator's
 * synthesis): when the prompt carries a RAG agent's sources result (`RagSourcesResult` JSON, as the RAG
 * agent's data artifact appears in a node's output) with cited sources, the answer keeps the cited
 * sentences as written and lists the cited sources, each once, as a model told to preserve citations
 * would. Other prompts fall through. Citation numbers are carried over unchanged: with several different
 * RAG results in one prompt they may repeat.
 */
export const citedSynthesis: SimBehaviour = {
  name: 'cited-synthesis',
  matches: (request) =>
    request.responseFormat === 'text' &&
    request.toolChoice !== 'required' &&
    typeof request.toolChoice !== 'object' &&
    ragPrompt(request) === undefined &&
    citedResults(request).results.length > 0,
  reply: (request) => {
    const { results, text } = citedResults(request);
    const sentences = [...new Set([...text.matchAll(/[^.!?\n:]*?\S\s?(?:\[\d+\])+[.!?]/g)].map((match) => match[0].trim()))];
    const sources = results.flatMap((result) => result.sources.filter((source) => source.cited));
    // A result can reach the prompt twice (a RAG node's output, and again inside a later node's that read
    // it): each source is listed once.
    const listing = [...new Set(sources.map((source) => `[${source.index}] ${source.title} (${source.source})`))].join('\n');
    const body = sentences.length > 0 ? sentences.join(' ') : 'The knowledge base answered the request; see the sources below.';
    return { content: `[sim-llm] From the knowledge base: ${body}\n\nSources:\n${listing}` };
  },
};

/** Every RAG sources result with at least one cited source found in the request's messages, and their text. */
function citedResults(request: SimRequest): { results: RagSourcesResult[]; text: string } {
  const text = request.body.messages.map((message) => messageText(message.content)).join('\n');
  const results: RagSourcesResult[] = [];
  for (const match of text.matchAll(/\{"query":/g)) {
    const value = readEmbeddedJson(text, match.index);
    const parsed = RagSourcesResult.safeParse(value);
    if (parsed.success && parsed.data.found && parsed.data.sources.some((source) => source.cited)) results.push(parsed.data);
  }
  return { results, text };
}


export interface PromptSource {
  index: number;
  heading: string;
  text: string;
}

/** The sources of a RAG prompt (empty when it says none were found), or `undefined` for other prompts. */
export function ragPrompt(request: SimRequest): { sources: PromptSource[] } | undefined {
  for (const message of request.body.messages) {
    if (message.role !== 'system' && message.role !== 'developer') continue;
    const text = messageText(message.content);
    const header = text.indexOf(RAG_PROMPT_SECTIONS.sources);
    if (header !== -1) {
      const sources = parseSources(text.slice(header + RAG_PROMPT_SECTIONS.sources.length));
      if (sources.length > 0) return { sources };
    }
    if (text.includes(RAG_PROMPT_SECTIONS.noSources)) return { sources: [] };
  }
  return undefined;
}

/** Blocks opened by a `[n] heading` line; each runs to the next such line. */
export function parseSources(text: string): PromptSource[] {
  const sources: PromptSource[] = [];
  let current: PromptSource | undefined;
  const body: string[] = [];
  const close = () => {
    if (current !== undefined) sources.push({ ...current, text: body.join('\n').trim() });
    body.length = 0;
  };
  for (const line of text.split('\n')) {
    const opening = /^\[(\d+)\]\s+(.*)$/.exec(line);
    if (opening !== null) {
      close();
      current = { index: Number(opening[1]), heading: (opening[2] ?? '').trim(), text: '' };
    } else if (current !== undefined) {
      body.push(line);
    }
  }
  close();
  return sources;
}

/** The grounded answer: the best sentence of the best one or two sources, each with its citation. */
export function answerFromSources(question: string, sources: readonly PromptSource[]): string {
  const asked = new Set(stems(question));
  const overlap = (text: string) => stems(text).reduce((sum, word) => sum + (asked.has(word) ? 1 : 0), 0);
  const ranked = sources
    .map((source, order) => ({ source, order, score: overlap(`${source.heading} ${source.text}`) }))
    .sort((a, b) => b.score - a.score || a.order - b.order);
  const relevant = ranked.filter((entry) => entry.score > 0).slice(0, 2);
  const chosen = relevant.length > 0 ? relevant : ranked.slice(0, 1);
  const quotes = chosen.map(({ source }) => {
    const split = splitSentences(source.text);
    // A line without a full stop (a document's title, a heading) is not quoted while there are sentences.
    const full = split.filter((sentence) => /[.!?]["')`]*$/.test(sentence));
    const sentences = full.length > 0 ? full : split;
    let best = sentences[0] ?? source.heading;
    let bestScore = -1;
    for (const sentence of sentences) {
      const score = overlap(sentence);
      if (score > bestScore) [best, bestScore] = [sentence, score];
    }
    return `${best.replace(/[.!?:;,\s]+$/, '')} [${source.index}].`;
  });
  return `[sim-llm] According to the sources: ${quotes.join(' ')}`;
}

/** Sentences, paragraph by paragraph: a blank line ends one even without a full stop (after a title). */
function splitSentences(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .flatMap((paragraph) => paragraph.replace(/\s+/g, ' ').split(/(?<=[.!?])\s+(?=[A-Z0-9`"(])/))
    .map((sentence) => sentence.replace(/^[-*#>\s]+/, '').trim())
    .filter((sentence) => sentence.length > 0);
}



function excerpt(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
