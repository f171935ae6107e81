import { messageText } from '@ensemble/protocol';

import { generateFromSchema } from '../json-schema.js';
import type { SimRequest } from '../sim-request.js';
import type { SimBehaviour } from './types.js';

/** Property names whose string value is best filled with the user's own words (search queries and the like). */
const TEXT_FROM_QUESTION = new Set(['query', 'q', 'question', 'prompt', 'input', 'text', 'search', 'search_query', 'topic', 'task']);

function textFor(request: SimRequest): (label: string) => string | undefined {
  const question = request.lastUserText.trim();
  return (label) => (question !== '' && TEXT_FROM_QUESTION.has(label.toLowerCase()) ? question : undefined);
}

/** `tool_choice` forces a call (`required`, or a named function): call it with arguments from its schema. */
export const forcedToolCall: SimBehaviour = {
  name: 'forced-tool-call',
  matches: (request) => request.toolChoice === 'required' || typeof request.toolChoice === 'object',
  reply: (request) => {
    const choice = request.toolChoice;
    const tool = typeof choice === 'object' ? request.tools.find((candidate) => candidate.name === choice.name) : request.tools[0];
    if (tool === undefined) return { content: plainAnswer(request) };
    const parameters = tool.parameters ?? { type: 'object', properties: {} };
    return { toolCalls: [{ name: tool.name, arguments: generateFromSchema(parameters, { textFor: textFor(request) }) }] };
  },
};

/** Structured output: a value valid against the requested JSON schema. */
export const jsonSchemaAnswer: SimBehaviour = {
  name: 'json-schema',
  matches: (request) => request.responseFormat === 'json_schema',
  reply: (request) => ({ json: generateFromSchema(request.schema ?? { type: 'object' }, { textFor: textFor(request) }) }),
};

/** JSON mode: some JSON object; the prompt's wishes about its shape are unknowable, so it carries the answer. */
export const jsonObjectAnswer: SimBehaviour = {
  name: 'json-object',
  matches: (request) => request.responseFormat === 'json_object',
  reply: (request) => ({ json: { answer: plainAnswer(request), source: 'sim-llm' } }),
};

/** Everything else: a readable, deterministic answer that says where it comes from. */
export const plainAnswerBehaviour: SimBehaviour = {
  name: 'plain-answer',
  matches: () => true,
  reply: (request) => ({ content: plainAnswer(request) }),
};

/** The generic fallbacks, in order; the last always matches. */
export const fallbackBehaviours: readonly SimBehaviour[] = [forcedToolCall, jsonSchemaAnswer, jsonObjectAnswer, plainAnswerBehaviour];

function excerpt(text: string, max = 160): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  return collapsed.length <= max ? collapsed : `${collapsed.slice(0, max - 1)}…`;
}

/**
 * Long enough to stream as a dozen or more chunks. After a tool result it reports the result, so a
 * tool-calling loop ends with an answer that shows the tool's output.
 */
export function plainAnswer(request: SimRequest): string {
  const last = request.body.messages.at(-1);
  if (last?.role === 'tool') {
    return `[sim-llm] The tool returned: ${excerpt(messageText(last.content))}. This is a deterministic summary from sim-llm, the offline test double that stands in for a language model.`;
  }
  const question = excerpt(request.lastUserText);
  const opening = question === '' ? '[sim-llm] Hello.' : `[sim-llm] You asked: "${question}".`;
  return `${opening} This is a deterministic answer from sim-llm, the offline test double that stands in for a language model. It does not reason about the question; it reflects it back so that tests and demos can follow a request from end to end.`;
}
