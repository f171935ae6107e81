import { type ExecutionPlan, PLANNER_PROMPT_SECTIONS, type PlanNode, messageText } from '@ensemble/protocol';
import { z } from 'zod';

import type { SimRequest } from '../sim-request.js';
import type { SimBehaviour } from './types.js';
import { readEmbeddedJson } from './embedded-json.js';
import { stems } from './terms.js';

/**
 * Stands in for the planning agent's LLM (structured output named `execution_plan`). It reads the agent
 * catalog and, for a revision, the current plan and results back out of the planner's prompt (the
 * section headers in `PLANNER_PROMPT_SECTIONS`) and builds a plan the way a careful person would, with
 * rules simple enough to predict:
 *
 * - skills are picked by word overlap between the request and each skill's id, name, tags (strong) and
 *   description and examples (weak); when nothing overlaps, every skill is used;
 * - gathering skills (search, retrieval) run first and in parallel; with one gathering skill and a
 *   multi-part request, each part gets its own gathering node;
 * - analysis skills depend on every gathering node;
 * - a reasoning / synthesis skill ends the plan, combining all branches, whenever there are several;
 * - a request that best matches a skill acting on running systems (operations: restart, deploy, ...)
 *   is one node for that skill, run once (it asks a person for approval itself);
 * - for a revision, every node is kept as it is and one follow-up node is added after the completed ones,
 *   so dynamic re-planning can be demonstrated offline.
 *
 * Pure and deterministic: same prompt, same plan.
 */
export const executionPlan: SimBehaviour = {
  name: 'execution-plan',
  matches: (request) => request.schemaName === 'execution_plan',
  reply: (request) => ({ json: planFromPrompt(request) }),
};

const CatalogSkill = z.object({
  id: z.string().min(1),
  name: z.string().default(''),
  description: z.string().default(''),
  tags: z.array(z.string()).default([]),
  examples: z.array(z.string()).default([]),
});
const CatalogAgent = z.object({ name: z.string().min(1), description: z.string().default(''), skills: z.array(CatalogSkill).default([]) });
const Catalog = z.array(CatalogAgent);
type CatalogAgent = z.infer<typeof CatalogAgent>;
type CatalogSkill = z.infer<typeof CatalogSkill>;

/** Only what the behaviour needs of a plan under revision; the planner already validated the rest. */
const RevisedPlan = z.object({ goal: z.string(), rationale: z.string(), nodes: z.array(z.looseObject({ id: z.string() })) });
const Results = z.record(z.string(), z.looseObject({ status: z.string() }));

export type SkillRole = 'gather' | 'analyse' | 'combine' | 'act';

interface Candidate {
  agent: string;
  skill: CatalogSkill;
  role: SkillRole;
  score: number;
  /** Position in the catalog, the tie-breaker. */
  order: number;
}

/** The plan for a planner prompt (a fresh plan, or a revision when the prompt carries a current plan). */
export function planFromPrompt(request: SimRequest): unknown {
  const texts = request.body.messages.map((message) => messageText(message.content));
  const catalog = Catalog.safeParse(readSection(texts, PLANNER_PROMPT_SECTIONS.catalog));
  const agents = catalog.success ? catalog.data : [];
  const userRequest = firstUserText(request) || request.lastUserText;

  const current = RevisedPlan.safeParse(readSection(texts, PLANNER_PROMPT_SECTIONS.currentPlan));
  if (current.success) {
    const results = Results.safeParse(readSection(texts, PLANNER_PROMPT_SECTIONS.results));
    return revisePlan(current.data, results.success ? results.data : {}, readLine(texts, PLANNER_PROMPT_SECTIONS.reason), agents);
  }
  return buildPlan(userRequest, agents);
}

/** A fresh plan for `text` over the catalog. Exported for tests. */
export function buildPlan(text: string, agents: readonly CatalogAgent[]): ExecutionPlan {
  const request = text.trim();
  const candidates = rankSkills(request, agents);
  if (candidates.length === 0) {
    // No catalog in the prompt: a schema-valid plan the planner's validation will send back.
    return { goal: goalOf(request), rationale: 'No agents were listed, so the plan has a single placeholder step.', nodes: [makeNode('answer', null, 'answer', '{{request}}', [], 'Answer the request')] };
  }
  // A change to a running system (restart, deploy, ...) is done once, alone, by the agent that acts:
  // nothing gathered beside it, no automatic retry of an action a person approves.
  const top = candidates[0];
  if (top !== undefined && top.role === 'act' && top.score > 0) {
    const node = { ...makeNode(slug(top.skill.id), top.agent, top.skill.id, '{{request}}', [], `${label(top)}: ${excerpt(request)}`), retry: { maxAttempts: 1, backoffMs: 0 }, required: true };
    return { goal: goalOf(request), rationale: `The request changes a running system, so one step does it: ${top.agent} (${top.skill.id}), which asks for approval first.`, nodes: [node] };
  }
  const chosen = selectRelevant(candidates);
  const parts = splitParts(request);
  const multiPart = parts.length >= 2;
  const ids = new Set<string>();
  const nodes: PlanNode[] = [];
  const add = (candidate: Candidate, input: string, dependsOn: string[], description: string): string => {
    const id = uniqueId(slug(candidate.skill.id), ids);
    nodes.push(makeNode(id, candidate.agent, candidate.skill.id, input, dependsOn, description, fallbackFor(candidate, agents)));
    return id;
  };

  const gathers = chosen.filter((candidate) => candidate.role === 'gather').slice(0, 3);
  const analyses = chosen.filter((candidate) => candidate.role === 'analyse').slice(0, 2);
  const combiners = chosen.filter((candidate) => candidate.role === 'combine');

  // First layer: independent nodes, run in parallel. Second layer: analysis over the first layer.
  const firstRole = gathers.length > 0 ? gathers : analyses;
  const secondRole = gathers.length > 0 ? analyses : [];
  // Parts that ask for facts (not "compare them", "recommend one") can each be looked up on their own.
  const lookups = parts.filter((part) => !SYNTHESIS_PART.test(part));
  let first: string[];
  const only = firstRole[0];
  if (firstRole.length === 1 && only !== undefined && lookups.length >= 2) {
    first = lookups.slice(0, 3).map((part) => add(only, inline(part), [], `${label(only)}: ${excerpt(part)}`));
  } else {
    first = firstRole.map((candidate) => {
      const part = multiPart ? bestPart(candidate, lookups) : undefined;
      return part === undefined
        ? add(candidate, '{{request}}', [], `${label(candidate)} for the request`)
        : add(candidate, `${inline(part)} (part of the request: {{request}})`, [], `${label(candidate)}: ${excerpt(part)}`);
    });
  }
  const second = secondRole.map((candidate) =>
    add(candidate, `For the request "{{request}}", work from these findings:\n${outputsOf(first)}`, first, `${label(candidate)} over the gathered findings`),
  );

  const leaves = second.length > 0 ? second : first;
  // Several branches, or several asks, end in one node that combines them (when the catalog has one).
  const needsCombiner = leaves.length > 1 || (multiPart && nodes.length > 0);
  const combiner = combiners[0] ?? (needsCombiner ? candidates.find((candidate) => candidate.role === 'combine') : undefined);
  if (combiner !== undefined) {
    if (leaves.length === 0) {
      add(combiner, '{{request}}', [], `${label(combiner)} for the request`);
    } else {
      const ask = leaves.length > 1 ? 'Combine these results into one answer to "{{request}}":' : 'Answer "{{request}}", building on:';
      add(combiner, `${ask}\n${outputsOf(leaves)}`, leaves, leaves.length > 1 ? 'Combine the branches into the final answer' : 'Write the final answer');
    }
  }
  if (nodes.length === 0) {
    const fallback = chosen[0] ?? candidates[0];
    if (fallback !== undefined) add(fallback, '{{request}}', [], `${label(fallback)} for the request`);
  }

  const parallel = first.length > 1 ? `${first.length} independent steps (${first.join(', ')}) run in parallel` : 'a single first step';
  const tail = nodes.length > first.length ? `; ${nodes.slice(first.length).map((node) => node.id).join(' then ')} build on them` : '';
  // A lone node is the whole answer: nothing is left to answer from if it fails.
  if (nodes.length === 1 && nodes[0] !== undefined) nodes[0] = { ...nodes[0], required: true };
  return { goal: goalOf(request), rationale: `Chose the agents whose skills match the request: ${parallel}${tail}.`, nodes };
}

/**
 * A revision: every node of the current plan unchanged, plus one follow-up node after the completed
 * ones, run by a synthesis skill (or analysis, or any) from the catalog. Exported for tests.
 */
export function revisePlan(
  plan: z.infer<typeof RevisedPlan>,
  results: z.infer<typeof Results>,
  reason: string,
  agents: readonly CatalogAgent[],
): unknown {
  const ids = new Set(plan.nodes.map((node) => node.id));
  const completed = plan.nodes.map((node) => node.id).filter((id) => results[id]?.status === 'completed');
  const candidates = rankSkills('', agents);
  const pick = candidates.find((candidate) => candidate.role === 'combine') ?? candidates.find((candidate) => candidate.role === 'analyse') ?? candidates[0];
  const id = uniqueId('follow-up', ids);
  const why = reason.trim() === '' ? 'the results so far call for it' : reason.trim();
  const input =
    completed.length === 0
      ? `Follow up on the request "{{request}}" (${inline(why)}).`
      : `Follow up on the request "{{request}}" (${inline(why)}), starting from:\n${outputsOf(completed)}`;
  const node = makeNode(id, pick?.agent ?? null, pick?.skill.id ?? 'follow-up', input, completed, `Follow-up step added on revision: ${excerpt(why)}`);
  return {
    goal: plan.goal,
    rationale: `Revised because ${excerpt(why)}: kept all ${plan.nodes.length} existing nodes and added "${id}" after ${completed.length} completed node(s).`,
    nodes: [...plan.nodes, node],
  };
}

const GATHER_WORDS = new Set(['search', 'web', 'retrieval', 'retrieve', 'rag', 'documents', 'document', 'lookup', 'fetch', 'knowledge-base', 'news', 'browse', 'crawl']);
const COMBINE_WORDS = new Set(['reasoning', 'synthesis', 'synthesize', 'summary', 'summarization', 'writing', 'writer', 'explanation']);
const ACT_WORDS = new Set(['operations', 'restart', 'deploy', 'rollback', 'delete', 'provisioning']);

/** Acting on a running system, gathering, analysis or synthesis, from the skill's id and tags. */
export function skillRole(skill: Pick<CatalogSkill, 'id' | 'tags'>): SkillRole {
  const words = [...skill.id.toLowerCase().split(/[^a-z0-9]+/), ...skill.tags.map((tag) => tag.toLowerCase())];
  if (words.some((word) => ACT_WORDS.has(word))) return 'act';
  if (words.some((word) => GATHER_WORDS.has(word))) return 'gather';
  if (words.some((word) => COMBINE_WORDS.has(word))) return 'combine';
  return 'analyse';
}

/** Every skill of every agent with its overlap score, best first (catalog order breaks ties). */
function rankSkills(request: string, agents: readonly CatalogAgent[]): Candidate[] {
  const asked = new Set(stems(request));
  const candidates: Candidate[] = [];
  for (const agent of agents) {
    for (const skill of agent.skills) {
      const strong = new Set(stems([skill.id, skill.name, ...skill.tags].join(' ')));
      const weak = new Set(stems([skill.description, ...skill.examples].join(' ')));
      let score = 0;
      for (const word of asked) score += strong.has(word) ? 2 : weak.has(word) ? 1 : 0;
      candidates.push({ agent: agent.name, skill, role: skillRole(skill), score, order: candidates.length });
    }
  }
  return candidates.sort((a, b) => b.score - a.score || a.order - b.order);
}

/** Skills scoring at least a third of the best (and above zero); all of them when nothing overlaps. */
function selectRelevant(ranked: readonly Candidate[]): Candidate[] {
  const best = ranked[0]?.score ?? 0;
  const chosen = best === 0 ? [...ranked] : ranked.filter((candidate) => candidate.score > 0 && candidate.score * 3 >= best);
  // One node per skill id: the best-scoring agent offering it.
  const seen = new Set<string>();
  return chosen.filter((candidate) => !seen.has(candidate.skill.id) && seen.add(candidate.skill.id)).sort((a, b) => a.order - b.order);
}

/** The part of the request that overlaps most with the skill; `undefined` when none does. */
function bestPart(candidate: Candidate, parts: readonly string[]): string | undefined {
  const strong = new Set(stems([candidate.skill.id, candidate.skill.name, ...candidate.skill.tags].join(' ')));
  const weak = new Set(stems([candidate.skill.description, ...candidate.skill.examples].join(' ')));
  let best: { part: string; score: number } | undefined;
  for (const part of parts) {
    const score = stems(part).reduce((sum, word) => sum + (strong.has(word) ? 2 : weak.has(word) ? 1 : 0), 0);
    if (score > 0 && (best === undefined || score > best.score)) best = { part, score };
  }
  return best?.part;
}

function label(candidate: Candidate): string {
  return candidate.skill.name || candidate.skill.id;
}

/** Another agent offering the same skill, for `fallbackAgent`. */
function fallbackFor(candidate: Candidate, agents: readonly CatalogAgent[]): string | null {
  return agents.find((agent) => agent.name !== candidate.agent && agent.skills.some((skill) => skill.id === candidate.skill.id))?.name ?? null;
}



const PART_VERBS =
  'research|find|look|search|check|compare|analy[sz]e|summari[sz]e|recommend|write|draft|explain|list|calculate|compute|estimate|identify|evaluate|assess|review|fetch|get|gather|collect|give|tell|plan|outline|suggest|propose|prepare|rank|read|retrieve';
const CLAUSE_BREAK = new RegExp(String.raw`\s*(?:,?\s+and then\s+|,?\s+then\s+|,?\s+and also\s+|,?\s+as well as\s+|,\s*(?:and\s+)?(?=(?:${PART_VERBS})\b)|\s+and\s+(?=(?:${PART_VERBS})\b))`, 'i');

/** A part that works on results rather than asking for facts. */
const SYNTHESIS_PART = /^(?:please\s+)?(?:compare|contrast|analy[sz]e|summari[sz]e|recommend|explain|evaluate|assess|rank|decide|choose|suggest|propose|combine|write|draft)\b/i;

/** The independent asks in a request: sentences and clauses joined by "and <verb>", "then", ... */
export function splitParts(text: string): string[] {
  return text
    .split(/(?<=[?!.;])\s+|\n+/)
    .flatMap((sentence) => sentence.split(CLAUSE_BREAK))
    .map((part) => part.replace(/^(?:and|then|also)\s+/i, '').replace(/[\s.;,:!]+$/, '').trim())
    .filter((part) => part.split(/\s+/).length >= 2);
}

/** The JSON value on the lines after `header` in the newest message that has it. */
function readSection(texts: readonly string[], header: string): unknown {
  for (let index = texts.length - 1; index >= 0; index -= 1) {
    const text = texts[index] ?? '';
    const at = text.lastIndexOf(header);
    if (at === -1) continue;
    const value = readEmbeddedJson(text, at + header.length);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The text on the header's line, or the next non-empty line. */
function readLine(texts: readonly string[], header: string): string {
  for (let index = texts.length - 1; index >= 0; index -= 1) {
    const text = texts[index] ?? '';
    const at = text.lastIndexOf(header);
    if (at === -1) continue;
    const rest = text.slice(at + header.length).split('\n');
    return (rest[0]?.trim() || rest.slice(1).find((line) => line.trim() !== '')?.trim()) ?? '';
  }
  return '';
}


function firstUserText(request: SimRequest): string {
  const first = request.body.messages.find((message) => message.role === 'user');
  return first === undefined ? '' : messageText(first.content).trim();
}

function makeNode(id: string, agent: string | null, skill: string, input: string, dependsOn: string[], description: string, fallbackAgent: string | null = null): PlanNode {
  return { id, agent, skill, input, dependsOn, condition: null, retry: { maxAttempts: 2, backoffMs: 500 }, timeoutMs: 60_000, fallbackAgent, description, required: null };
}

function outputsOf(ids: readonly string[]): string {
  return ids.map((id) => `- ${id}: {{nodes.${id}.output}}`).join('\n');
}

/** User text placed inside a template must not open template variables of its own. */
function inline(text: string): string {
  return text.replace(/\{\{+/g, '{').replace(/\}\}+/g, '}');
}

function slug(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 56);
  return cleaned === '' ? 'step' : cleaned;
}

function uniqueId(base: string, taken: Set<string>): string {
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}-${n}`;
  taken.add(id);
  return id;
}

function excerpt(text: string, max = 80): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  return collapsed.length <= max ? collapsed : `${collapsed.slice(0, max - 1)}…`;
}

function goalOf(request: string): string {
  return request === '' ? 'Answer the request' : excerpt(request, 200);
}
