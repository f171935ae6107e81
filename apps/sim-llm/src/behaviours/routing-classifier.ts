import { generateFromSchema } from '../json-schema.js';
import type { SimRequest } from '../sim-request.js';
import type { SimBehaviour } from './types.js';

export interface RoutingVerdict {
  needs_orchestration: boolean;
  reason: string;
}

/**
 * Stands in for the gateway's routing classifier (structured output named `routing_verdict`). A few
 * lexical rules, deterministic and explainable, that make the offline demo route the way a person
 * would expect: multi-step or multi-part asks go to the orchestrator, single questions and single
 * transformations stay on the simple path.
 */
export const routingClassifier: SimBehaviour = {
  name: 'routing-classifier',
  matches: (request) => request.schemaName === 'routing_verdict',
  reply: (request) => {
    const verdict = classifyRouting(classifiedText(request));
    // Fill any fields a newer schema adds, then put the verdict over them.
    const base = request.schema === undefined ? {} : generateFromSchema(request.schema);
    const json = typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...base, ...verdict } : verdict;
    return { json };
  },
};

/**
 * The text the classifier is asked about. The gateway embeds the conversation in its own prompt after a
 * `Conversation:` line; when that block labels turns (`user: ...`), the last user turn is the request.
 * Without such a line, the last user message is.
 */
export function classifiedText(request: SimRequest): string {
  for (let index = request.body.messages.length - 1; index >= 0; index -= 1) {
    const message = request.body.messages[index];
    const text = message === undefined ? '' : typeof message.content === 'string' ? message.content : '';
    const marker = /^\s*conversation:\s*$/im.exec(text) ?? /^\s*conversation:/im.exec(text);
    if (marker !== null) return lastUserTurn(text.slice(marker.index + marker[0].length));
  }
  return request.lastUserText;
}

const ROLE_LINE = /^\s*(user|assistant|system|developer|tool)\s*:\s?(.*)$/i;

function lastUserTurn(block: string): string {
  const turns: { role: string; lines: string[] }[] = [];
  for (const line of block.split('\n')) {
    const role = ROLE_LINE.exec(line);
    if (role !== null) turns.push({ role: (role[1] ?? '').toLowerCase(), lines: [role[2] ?? ''] });
    else if (turns.length > 0) turns.at(-1)?.lines.push(line);
  }
  const user = turns.findLast((turn) => turn.role === 'user');
  return (user === undefined ? block : user.lines.join('\n')).trim();
}

/** Verbs that open a single transformation of given text: only the instruction before the text counts. */
const TRANSFORMATION = /^(?:please\s+|can you\s+|could you\s+|would you\s+)*(?:summari[sz]e|translate|paraphrase|rephrase|rewrite|proofread|shorten|simplify|correct|format|convert|classify|extract|tl;?dr)\b/i;

const ACTION_VERBS =
  'research|find|look|search|compare|write|draft|summari[sz]e|explain|list|calculate|compute|analy[sz]e|create|make|build|design|review|estimate|identify|recommend|translate|describe|check|get|fetch|give|tell|send|book|schedule|plan|outline|evaluate|assess|propose|suggest|prepare|collect|gather|generate|rank|email|buy|order|update|delete|deploy';
const STARTS_WITH_ACTION = new RegExp(String.raw`^(?:please\s+|can you\s+|could you\s+|would you\s+|also\s+|and\s+)*(?:${ACTION_VERBS})\b`, 'i');
const JOINED_ACTIONS = new RegExp(String.raw`\b(?:and(?: then)?|, then|;)\s+(?:also\s+)?(?:${ACTION_VERBS})\b`, 'i');

interface Signal {
  test: (text: string) => boolean;
  reason: string;
}

const SIGNALS: readonly Signal[] = [
  { test: (text) => /\bstep[- ]by[- ]step\b/i.test(text), reason: 'asks for a step-by-step treatment' },
  {
    test: (text) => /^(?:please\s+|can you\s+|could you\s+|would you\s+)*(?:restart|redeploy|deploy|roll ?back|rollback|delete)\b[\s\S]*\b(?:service|server|cluster|database|production|staging)\b/i.test(text.trim()),
    reason: 'asks to change a running system, which an agent does after a person approves',
  },
  { test: (text) => /\b(?:compare|comparing|comparison|contrast|versus|vs\.?|pros and cons|trade-?offs?)\b/i.test(text), reason: 'asks for a comparison' },
  { test: (text) => /\b(?:plan|planning|roadmap|itinerary|strategy)\b/i.test(text), reason: 'asks for a plan' },
  { test: (text) => /\b(?:then|after that|afterwards|finally)\b/i.test(text), reason: 'asks for several steps in sequence' },
  { test: (text) => /\b(?:research|investigate|find out|look up|gather)\b[\s\S]*\band\b/i.test(text), reason: 'asks to research and then do more' },
  { test: (text) => JOINED_ACTIONS.test(text), reason: 'asks for several actions' },
  { test: (text) => countAsks(text) >= 2, reason: 'asks several separate questions or for several different things' },
  { test: (text) => countListItems(text) >= 2, reason: 'lists several separate tasks' },
  {
    test: (text) =>
      text.split(/\s+/).length >= 40 &&
      /\b(?:analy[sz]e|analysis|evaluate|assess|investigate|implications|in[- ]depth|comprehensive|report|recommend(?:ation)?s?)\b/i.test(text),
    reason: 'is a long analytical request',
  },
];

/** The routing rules as a pure function of the request text. */
export function classifyRouting(text: string): RoutingVerdict {
  const normalized = text.trim();
  if (normalized === '') return { needs_orchestration: false, reason: 'empty request: nothing to orchestrate' };
  const instruction = TRANSFORMATION.test(normalized) ? instructionPart(normalized) : normalized;
  const reasons = SIGNALS.filter((signal) => signal.test(instruction)).map((signal) => signal.reason);
  if (reasons.length > 0) return { needs_orchestration: true, reason: `multi-step request: ${reasons.join('; ')}` };
  return TRANSFORMATION.test(normalized)
    ? { needs_orchestration: false, reason: 'a single transformation of the given text: one model call answers it' }
    : { needs_orchestration: false, reason: 'a single question: one model call answers it' };
}

/** For "Summarize this: <text>", only "Summarize this" is the ask; the text after it is material. */
function instructionPart(text: string): string {
  const end = text.search(/[:\n]/);
  return end === -1 ? text : text.slice(0, end);
}

/** Sentences that ask something: questions, or sentences opening with an action verb. */
function countAsks(text: string): number {
  const sentences = text.match(/[^.!?;\n]+[.!?;\n]*/g) ?? [];
  return sentences.filter((sentence) => {
    const trimmed = sentence.trim();
    return trimmed.endsWith('?') || STARTS_WITH_ACTION.test(trimmed);
  }).length;
}

function countListItems(text: string): number {
  return text.split('\n').filter((line) => /^\s*(?:\d+[.)]|[-*•])\s+\S/.test(line)).length;
}
