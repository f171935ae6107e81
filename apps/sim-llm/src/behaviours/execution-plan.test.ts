import { ExecutionPlan, PLANNER_PROMPT_SECTIONS, type PlanNode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { PRESETS } from '../../../mock-agents/src/presets.js';
import { toSimRequest } from '../sim-request.js';
import { buildPlan, executionPlan, skillRole, splitParts } from './execution-plan.js';

/** The catalog of the mock-agent presets, as the planner writes it into its prompt. */
const CATALOG = Object.values(PRESETS).map((preset) => ({
  name: preset.name,
  description: preset.description,
  skills: preset.skills.map((skill) => ({ id: skill.id, name: skill.name, description: skill.description ?? '', tags: skill.tags ?? [], examples: skill.examples ?? [] })),
}));

function planRequest(messages: { role: 'system' | 'user' | 'assistant'; content: string }[]) {
  return toSimRequest({
    model: 'gpt-4o-mini',
    messages,
    response_format: { type: 'json_schema', json_schema: { name: 'execution_plan', schema: { type: 'object' } } },
  });
}

function systemPrompt(catalog: unknown = CATALOG): string {
  return `You are a planner.\nRules: ...\n\n${PLANNER_PROMPT_SECTIONS.catalog}\n${JSON.stringify(catalog)}`;
}

/** Structural checks the dag validator also makes, kept here so sim-llm needs no dependency on it. */
function expectWellFormed(plan: ExecutionPlan, agents: readonly string[]): void {
  expect(ExecutionPlan.safeParse(plan).success).toBe(true);
  const ids = plan.nodes.map((node) => node.id);
  expect(new Set(ids).size).toBe(ids.length);
  const seen = new Set<string>();
  for (const node of plan.nodes) {
    // Plan order is a topological order here: every dependency comes earlier.
    for (const dependency of node.dependsOn) expect(seen.has(dependency), `${node.id} depends on later/unknown ${dependency}`).toBe(true);
    for (const match of node.input.matchAll(/\{\{\s*nodes\.([^.}]+)\.output\s*\}\}/g)) expect(node.dependsOn).toContain(match[1]);
    expect(node.input.replace(/\{\{(request|nodes\.[a-z0-9_-]+\.output)\}\}/g, '')).not.toMatch(/\{\{|\}\}/);
    expect(agents).toContain(node.agent);
    seen.add(node.id);
  }
}

const roots = (plan: ExecutionPlan) => plan.nodes.filter((node) => node.dependsOn.length === 0).map((node) => node.agent);
const sinks = (plan: ExecutionPlan) => plan.nodes.filter((node) => !plan.nodes.some((other) => other.dependsOn.includes(node.id)));
const agentNames = CATALOG.map((agent) => agent.name);

interface Case {
  request: string;
  nodes: [number, number];
  /** Agents of the nodes that start at once (in catalog order, duplicates kept). */
  parallel: string[];
  /** Agent of the single last node, when the plan must end in one. */
  last?: string;
}

const cases: Case[] = [
  {
    request: 'Research the latest vector database releases on the web, check our internal documents for the current database policy, and then analyse the findings and recommend one.',
    nodes: [4, 4],
    parallel: ['rag-agent', 'search-agent'],
    last: 'reasoning-agent',
  },
  {
    request: 'Look up the weather in Paris. Look up the weather in Rome. Then compare them.',
    nodes: [3, 5],
    parallel: ['search-agent', 'search-agent'],
    last: 'reasoning-agent',
  },
  {
    request: 'Find recent news about the A2A protocol and summarise what our runbooks say about agent deployments',
    nodes: [3, 5],
    parallel: ['rag-agent', 'search-agent'],
    last: 'reasoning-agent',
  },
  { request: 'What is the latest stable release of Node.js?', nodes: [1, 1], parallel: ['search-agent'] },
  { request: 'Compute the month-over-month growth of these sales figures: 10, 12, 15', nodes: [1, 1], parallel: ['analysis-agent'] },
  // Nothing overlaps: every skill is used, gathering first.
  { request: 'Hello there', nodes: [4, 4], parallel: ['rag-agent', 'search-agent'], last: 'reasoning-agent' },
];

describe('execution-plan behaviour: fresh plans', () => {
  it.each(cases)('$request', ({ request, nodes, parallel, last }) => {
    const reply = executionPlan.reply(planRequest([{ role: 'system', content: systemPrompt() }, { role: 'user', content: request }]));
    const plan = reply.json as ExecutionPlan;
    expectWellFormed(plan, agentNames);
    expect(plan.nodes.length).toBeGreaterThanOrEqual(nodes[0]);
    expect(plan.nodes.length).toBeLessThanOrEqual(nodes[1]);
    expect(roots(plan)).toEqual(parallel);
    if (last !== undefined) {
      expect(sinks(plan).map((node) => node.agent)).toEqual([last]);
      const final = sinks(plan)[0]!;
      // The last node reads what it combines.
      for (const dependency of final.dependsOn) expect(final.input).toContain(`{{nodes.${dependency}.output}}`);
    }
  });

  it('matches only the execution_plan schema and answers the same prompt the same way', () => {
    const request = planRequest([{ role: 'system', content: systemPrompt() }, { role: 'user', content: cases[0]!.request }]);
    expect(executionPlan.matches(request)).toBe(true);
    expect(executionPlan.matches(toSimRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }))).toBe(false);
    expect(executionPlan.reply(request)).toEqual(executionPlan.reply(request));
  });

  it('plans the first user message (the request), not later correction turns', () => {
    const reply = executionPlan.reply(
      planRequest([
        { role: 'system', content: systemPrompt() },
        { role: 'user', content: 'What is the latest stable release of Node.js?' },
        { role: 'assistant', content: '{"goal":"x","rationale":"y","nodes":[]}' },
        { role: 'user', content: 'The plan of attempt 1 is not valid:\n- nodes: too small\nReturn a corrected plan.' },
      ]),
    );
    expect((reply.json as ExecutionPlan).nodes.map((node) => node.agent)).toEqual(['search-agent']);
    // The only node is the whole answer, so the plan marks it required (a strict-mode model sends null otherwise).
    expect((reply.json as ExecutionPlan).nodes.map((node) => node.required)).toEqual([true]);
  });

  it('uses only the agents in the prompt, and never lets user text open a template variable', () => {
    const two = CATALOG.filter((agent) => agent.name === 'search-agent' || agent.name === 'reasoning-agent');
    const plan = executionPlan.reply(planRequest([{ role: 'system', content: systemPrompt(two) }, { role: 'user', content: 'Look up {{secret}} prices. Look up {{nodes.x.output}} rates. Then recommend one.' }]))
      .json as ExecutionPlan;
    expectWellFormed(plan, ['search-agent', 'reasoning-agent']);
    expect(plan.nodes.map((node) => node.agent)).toEqual(['search-agent', 'search-agent', 'reasoning-agent']);
  });

  it('without a catalog, returns a schema-valid placeholder plan for the planner to reject', () => {
    const plan = executionPlan.reply(planRequest([{ role: 'user', content: 'Do things' }])).json as ExecutionPlan;
    expect(ExecutionPlan.safeParse(plan).success).toBe(true);
    expect(plan.nodes).toHaveLength(1);
  });

  it.each(['Restart the payments service in production', 'Deploy the checkout service to staging', 'Roll back the search service in production'])(
    'sends a change to a running system (%j) to the operations agent alone, run once',
    (request) => {
      const plan = buildPlan(request, CATALOG);
      expectWellFormed(plan, agentNames);
      expect(plan.nodes).toEqual([expect.objectContaining({ agent: 'operations-agent', skill: 'service-operations', input: '{{request}}', required: true, retry: { maxAttempts: 1, backoffMs: 0 } })]);
    },
  );

  it('does not send questions about operations to the operations agent', () => {
    const plan = buildPlan('Find the runbook steps for rotating the database credentials', CATALOG);
    expect(plan.nodes.map((node) => node.agent)).not.toContain('operations-agent');
  });

  it('buildPlan gives a fallback agent when another agent offers the same skill', () => {
    const replica = { ...CATALOG.find((agent) => agent.name === 'search-agent')!, name: 'search-agent-eu' };
    const plan = buildPlan('What is the latest stable release of Node.js?', [...CATALOG, replica]);
    expect(plan.nodes[0]).toMatchObject({ agent: 'search-agent', fallbackAgent: 'search-agent-eu' });
  });
});

describe('execution-plan behaviour: revisions', () => {
  const current: ExecutionPlan = buildPlan(cases[0]!.request, CATALOG);

  function revise(results: Record<string, { status: string; output: string | null }>, reason = 'the web results contradict the internal policy') {
    const replan = [
      'Revise the plan below.',
      `${PLANNER_PROMPT_SECTIONS.reason} ${reason}`,
      PLANNER_PROMPT_SECTIONS.currentPlan,
      JSON.stringify(current),
      PLANNER_PROMPT_SECTIONS.results,
      JSON.stringify(results),
    ].join('\n');
    return executionPlan.reply(planRequest([{ role: 'system', content: systemPrompt() }, { role: 'user', content: cases[0]!.request }, { role: 'user', content: replan }]))
      .json as ExecutionPlan;
  }

  it('keeps every node unchanged and adds one node after the completed ones', () => {
    const revised = revise({ 'document-retrieval': { status: 'completed', output: 'policy text' }, 'web-search': { status: 'completed', output: 'results' } });
    expectWellFormed(revised, agentNames);
    expect(revised.nodes.slice(0, current.nodes.length)).toEqual(current.nodes);
    expect(revised.nodes).toHaveLength(current.nodes.length + 1);
    const added = revised.nodes.at(-1)!;
    expect(added).toMatchObject({ id: 'follow-up', agent: 'reasoning-agent', dependsOn: ['document-retrieval', 'web-search'] });
    expect(added.description).toContain('contradict');
    expect(revised.goal).toBe(current.goal);
  });

  it('with nothing completed yet, adds an independent node; ids never collide', () => {
    const withFollowUp: ExecutionPlan = { ...current, nodes: [...current.nodes, { ...(current.nodes[0] as PlanNode), id: 'follow-up' }] };
    const replan = [PLANNER_PROMPT_SECTIONS.currentPlan, JSON.stringify(withFollowUp), PLANNER_PROMPT_SECTIONS.results, '{}'].join('\n');
    const revised = executionPlan.reply(planRequest([{ role: 'system', content: systemPrompt() }, { role: 'user', content: 'x y' }, { role: 'user', content: replan }]))
      .json as ExecutionPlan;
    expect(revised.nodes.at(-1)).toMatchObject({ id: 'follow-up-2', dependsOn: [] });
  });
});

describe('helpers', () => {
  it.each([
    ['Look up the weather in Paris. Look up the weather in Rome. Then compare them.', ['Look up the weather in Paris', 'Look up the weather in Rome', 'compare them']],
    ['Compare PostgreSQL and MySQL for analytics workloads', ['Compare PostgreSQL and MySQL for analytics workloads']],
    ['Find the revenue figures, then draft an email to the team', ['Find the revenue figures', 'draft an email to the team']],
    ['Search the web and check our docs', ['Search the web', 'check our docs']],
    ['Hi', []],
  ])('splitParts(%j)', (text, parts) => {
    expect(splitParts(text)).toEqual(parts);
  });

  it('classifies skills by id and tags', () => {
    expect(skillRole({ id: 'web-search', tags: [] })).toBe('gather');
    expect(skillRole({ id: 'x', tags: ['rag'] })).toBe('gather');
    expect(skillRole({ id: 'reasoning', tags: [] })).toBe('combine');
    expect(skillRole({ id: 'data-analysis', tags: ['statistics'] })).toBe('analyse');
  });
});
