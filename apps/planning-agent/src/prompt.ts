import type { StructuredCompletionRequest } from '@ensemble/llm';
import { PLANNER_PROMPT_SECTIONS, type PlanningConversationTurn, type ReplanRequest } from '@ensemble/protocol';
import type { z } from 'zod';

import type { PlannerAgent } from './catalog.js';

export type PlannerMessage = StructuredCompletionRequest<z.ZodType>['messages'][number];

export interface PlanningPromptInput {
  request: string;
  catalog: readonly PlannerAgent[];
  conversation?: readonly PlanningConversationTurn[] | undefined;
  replan?: ReplanRequest | undefined;
  /** The validator's node limit, stated in the rules so the model does not exceed it. */
  maxNodes: number;
}

/** Node outputs are shown to the model up to this many characters each (the caller may send more). */
export const MAX_OUTPUT_CHARS = 1_500;
/** Earlier conversation is shown up to this many characters per turn. */
const MAX_TURN_CHARS = 2_000;

/**
 * The planner's prompt. Layout (the section headers are a contract with sim-llm, see
 * `PLANNER_PROMPT_SECTIONS`):
 *
 * 1. system: the job, the rules, the catalog as JSON after `Available agents (JSON):`, and earlier
 *    conversation for context;
 * 2. user: the request, verbatim (so "the first user message" is always the request);
 * 3. user, for a revision only: the current plan, the results so far and the reason.
 *
 * Corrections after an invalid plan are appended by `correctionMessages`.
 */
export function buildPlanningMessages(input: PlanningPromptInput): PlannerMessage[] {
  const messages: PlannerMessage[] = [{ role: 'system', content: systemPrompt(input) }, { role: 'user', content: input.request }];
  if (input.replan !== undefined) messages.push({ role: 'user', content: replanPrompt(input.replan) });
  return messages;
}

function systemPrompt(input: PlanningPromptInput): string {
  const lines = [
    'You are the planning agent of Ensemble, a multi-agent system. You turn the user\'s request into an execution plan: a directed acyclic graph (DAG) of calls to the agents listed below. You do not answer the request yourself.',
    '',
    'Rules:',
    '1. Use only the agents and skill ids listed below: set "agent" to an agent\'s name and "skill" to one of that agent\'s skill ids.',
    '2. Make independent parts of the request independent nodes (no dependency between them) so they run in parallel. Add a dependency only when a node needs another node\'s output.',
    `3. A request with several parts gets a plan of 3 to 5 or more nodes; a simple request may be a single node. Never more than ${input.maxNodes} nodes.`,
    '4. Data flows only through the "input" templates: {{request}} is the user\'s request and {{nodes.<id>.output}} is the output of node <id>, which must be in the node\'s dependsOn (directly or through another dependency). No other {{...}} variables exist.',
    '5. A "condition" may only test a node that the conditioned node depends on; use null when the node always runs. Operators: contains, not_contains, equals, not_equals, matches (these need a value), succeeded, failed (value null).',
    '6. When the plan has several branches, end it with one node that depends on every branch and combines their results into the final answer.',
    '7. Node ids are short lowercase slugs (letters, digits, "-" and "_"), unique within the plan.',
    '8. Unless there is a reason to differ: retry {"maxAttempts": 2, "backoffMs": 500}, timeoutMs 60000, fallbackAgent null (or another listed agent offering the same skill). Give every node a one-line description; state the goal in one sentence; in rationale say which parts run in parallel and why.',
    '9. "required": true only for a node without whose result the answer would be worthless (the request is about exactly that); its failure then fails the whole workflow. Otherwise null: when such a node fails, the answer is written from the other results and says what is missing.',
    '',
    PLANNER_PROMPT_SECTIONS.catalog,
    JSON.stringify(input.catalog),
  ];
  const turns = input.conversation ?? [];
  if (turns.length > 0) {
    lines.push('', 'Earlier conversation (context only; plan the request in the user\'s message):');
    for (const turn of turns) lines.push(`${turn.role}: ${truncate(turn.content, MAX_TURN_CHARS)}`);
  }
  return lines.join('\n');
}

function replanPrompt(replan: ReplanRequest): string {
  const results = Object.fromEntries(
    Object.entries(replan.results).map(([id, outcome]) => [id, { status: outcome.status, output: outcome.output === null ? null : truncate(outcome.output, MAX_OUTPUT_CHARS) }]),
  );
  return [
    'Revise the plan below for the same request. Every node whose status is not "pending" has already run or is running: keep each of them in the plan unchanged (same id, same fields). Nodes without a result are pending: you may drop them, change them, or add new nodes, which may depend on finished nodes and use their outputs.',
    '',
    `${PLANNER_PROMPT_SECTIONS.reason} ${replan.reason.replace(/\s+/g, ' ').trim()}`,
    '',
    PLANNER_PROMPT_SECTIONS.currentPlan,
    JSON.stringify(replan.plan),
    '',
    PLANNER_PROMPT_SECTIONS.results,
    JSON.stringify(results),
  ].join('\n');
}

/**
 * What is appended after an invalid plan: the model's own answer (so it edits rather than starts over)
 * and every problem found, one per line.
 */
export function correctionMessages(previous: string | undefined, problems: readonly string[], attempt: number): PlannerMessage[] {
  const messages: PlannerMessage[] = [];
  if (previous !== undefined) messages.push({ role: 'assistant', content: previous });
  messages.push({
    role: 'user',
    content: [
      `The plan of attempt ${attempt} is not valid:`,
      ...problems.map((problem) => `- ${problem}`),
      'Return a corrected plan that fixes every problem, using only the listed agents and skill ids.',
    ].join('\n'),
  });
  return messages;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [truncated, ${text.length - max} more characters]`;
}
