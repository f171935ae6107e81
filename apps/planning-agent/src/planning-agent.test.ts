import { TaskState } from '@a2a-js/sdk';
import { type A2AStreamEvent, type AgentRegistry, type AgentSkillCatalogEntry, createA2AClient, resetAgentBreakers } from '@ensemble/a2a/client';
import { type AgentService } from '@ensemble/a2a/server';
import { validatePlan } from '@ensemble/dag';
import { createLlmClient } from '@ensemble/llm';
import { ErrorCode, type ExecutionPlan, PLAN_ARTIFACT_NAME, PlanningResult } from '@ensemble/protocol';
import { type RunningServer, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createSimLlmApp } from '../../sim-llm/src/app.js';
import type { SimLlmState } from '../../sim-llm/src/state.js';
import { PLANNING_AGENT_CARD, createPlanningAgentApp } from './app.js';
import { buildPlannerCatalog } from './catalog.js';
import { planStages, readPlanningRequest, summarizePlan } from './planning-agent.js';
import { PRESET_CATALOG_ENTRIES } from './testing/preset-catalog.js';

const presetEntries = PRESET_CATALOG_ENTRIES;
const MULTI_PART = 'Research the latest vector database releases on the web, check our internal documents for the current database policy, and then analyse the findings and recommend one.';

function node(id: string, dependsOn: string[] = []) {
  return { id, agent: 'search-agent', skill: 'web-search', input: '{{request}}', dependsOn, condition: null, retry: { maxAttempts: 1, backoffMs: 0 }, timeoutMs: 1000, fallbackAgent: null, description: `step ${id}` };
}

describe('readPlanningRequest', () => {
  it('takes the message text when there is no planningRequest data part', () => {
    expect(readPlanningRequest({ text: '  plan this ', data: [{ other: 1 }] })).toEqual({ request: 'plan this' });
  });

  it('prefers the data part, validated', () => {
    const data = { planningRequest: { request: 'from data', conversation: [{ role: 'user', content: 'hi' }] } };
    expect(readPlanningRequest({ text: 'from text', data: [data] })).toEqual(data.planningRequest);
  });

  it('refuses an invalid data part, naming the field', () => {
    const plan = { goal: 'g', rationale: 'r', nodes: [node('a')] };
    expect(() => readPlanningRequest({ text: 'x', data: [{ planningRequest: { request: 'r', replan: { plan, results: { ghost: { status: 'completed' } }, reason: 'why' } } }] })).toThrow(
      /^Invalid planningRequest data part: planningRequest\.replan\.results\.ghost: Result for "ghost", which is not a node of the plan$/,
    );
    expect(() => readPlanningRequest({ text: 'x', data: [{ planningRequest: { request: '' } }] })).toThrow(/planningRequest\.request/);
  });

  it('refuses an empty request', () => {
    expect(() => readPlanningRequest({ text: '   ', data: [] })).toThrow(/^Nothing to plan/);
  });
});

describe('summarizePlan / planStages', () => {
  const plan: ExecutionPlan = { goal: 'Compare A and B', rationale: 'r', nodes: [node('a'), node('b'), node('c', ['a', 'b']), node('d', ['c'])] };

  it('groups nodes that can run together', () => {
    expect(planStages(plan)).toEqual([['a', 'b'], ['c'], ['d']]);
  });

  it('says the goal, the stages, every node with its agent, and what a revision changed', () => {
    expect(summarizePlan({ plan, revision: null, attempts: 1 })).toBe(
      [
        'Plan: Compare A and B',
        '4 steps in 3 stages: [a | b] → c → d',
        '- a → search-agent / web-search: step a',
        '- b → search-agent / web-search: step b',
        '- c → search-agent / web-search (after a, b): step c',
        '- d → search-agent / web-search (after c): step d',
      ].join('\n'),
    );
    const summary = summarizePlan({ plan, revision: { reason: 'more', addNodes: [node('e')], updateNodes: [], skipNodes: ['d'] }, attempts: 2 });
    expect(summary).toContain('Revision (more): added e; changed none; skipped d');
    expect(summary).toContain('(valid on attempt 2)');
  });
});

describe('planning agent over A2A (in-process)', () => {
  let sim: RunningServer;
  let state: SimLlmState;
  let service: AgentService;
  let url: string;
  let entries: AgentSkillCatalogEntry[] = presetEntries;
  let refreshes = 0;
  const registry: Pick<AgentRegistry, 'refresh' | 'skills'> = {
    refresh: async () => {
      refreshes += 1;
    },
    skills: () => entries,
  };

  beforeAll(async () => {
    const simApp = createSimLlmApp({ ttftMs: 0 });
    state = simApp.state;
    const logger = createLogger({ service: 'planning-agent-test', level: 'silent' });
    sim = await serveHttp(simApp.app, { host: '127.0.0.1', port: 0, logger, service: 'sim-llm' });
    service = createPlanningAgentApp({
      llm: createLlmClient({ baseURL: `${sim.url}/v1`, apiKey: 'test', maxRetries: 0 }),
      settings: { model: 'gpt-4o-mini', temperature: 0, maxAttempts: 3 },
      registry,
      logger,
    });
    url = (await service.start({ host: '127.0.0.1', port: 0 })).url;
  });
  afterEach(() => {
    state.reset();
    entries = presetEntries;
    resetAgentBreakers();
  });
  afterAll(async () => {
    await service.stop(1_000);
    await sim.close();
  });

  async function run(input: { text: string; data?: Record<string, unknown> }): Promise<A2AStreamEvent[]> {
    const client = await createA2AClient({ url, retry: false, timeoutMs: 10_000 });
    const events: A2AStreamEvent[] = [];
    for await (const event of client.stream(input)) events.push(event);
    return events;
  }
  const statuses = (events: A2AStreamEvent[]) => events.flatMap((event) => (event.kind === 'status' && event.text !== '' ? [event.text] : []));
  const last = (events: A2AStreamEvent[]) => events.at(-1);

  it('serves its card with the workflow-planning skill', async () => {
    const card = service.card!;
    expect(card.name).toBe('planning-agent');
    expect(card.skills.map((skill) => [skill.id, skill.tags])).toEqual([['workflow-planning', ['planning', 'workflow-planning', 'dag']]]);
    expect(PLANNING_AGENT_CARD.skills[0]?.id).toBe('workflow-planning');
  });

  it('streams progress and answers with the plan as a data artifact plus a text summary', async () => {
    const before = refreshes;
    const events = await run({ text: MULTI_PART });
    expect(refreshes).toBe(before + 1);
    expect(statuses(events).slice(0, 3)).toEqual(['Discovering agents', 'Planning with 5 available agents: reasoning-agent, rag-agent, search-agent, analysis-agent, operations-agent', 'Planning']);
    const artifacts = events.flatMap((event) => (event.kind === 'artifact' ? [event] : []));
    const planArtifact = artifacts.find((event) => event.artifact.name === PLAN_ARTIFACT_NAME);
    const result = PlanningResult.parse(planArtifact?.data[0]);
    expect(result.attempts).toBe(1);
    expect(validatePlan(result.plan, { catalog: buildPlannerCatalog(presetEntries).validation }).ok).toBe(true);
    const text = artifacts.filter((event) => event.artifact.name !== PLAN_ARTIFACT_NAME).map((event) => event.text).join('');
    expect(text).toBe(summarizePlan(result));
    const final = last(events);
    expect(final?.kind === 'status' && final.state).toBe(TaskState.TASK_STATE_COMPLETED);
  });

  it('tells the caller when it re-plans, then succeeds', async () => {
    const bad = { goal: 'g', rationale: 'r', nodes: [{ ...node('a'), agent: 'ghost-agent' }] };
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { json: bad }, times: 1 });
    const events = await run({ text: MULTI_PART });
    expect(statuses(events)).toContain('Planning attempt 2 of 3: fixing 1 problem (nodes[0].agent: Node "a" agent "ghost-agent" is not a known agent (known: reasoning-agent, rag-agent, search-agent, analysis-agent, operations-agent))');
    const planArtifact = events.find((event) => event.kind === 'artifact' && event.artifact.name === PLAN_ARTIFACT_NAME);
    expect(planArtifact?.kind === 'artifact' && PlanningResult.parse(planArtifact.data[0]).attempts).toBe(2);
  });

  it('fails the task listing the problems when every attempt is invalid', async () => {
    const cyclic = { goal: 'g', rationale: 'r', nodes: [node('a', ['b']), node('b', ['a'])] };
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { json: cyclic } });
    const events = await run({ text: MULTI_PART });
    const final = last(events);
    expect(final?.kind).toBe('status');
    if (final?.kind !== 'status') return;
    expect(final.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(final.text).toMatch(/^The planner could not produce a valid plan in 3 attempts\. Problems with the last plan:\n- .*cycle.*a -> b -> a/s);
    expect(final.data).toEqual([{ error: { code: ErrorCode.UpstreamError, message: final.text } }]);
    expect(events.some((event) => event.kind === 'artifact')).toBe(false);
    expect(state.requests.list()).toHaveLength(3);
  });

  it('fails with a clear message when no agent is available', async () => {
    entries = [];
    const final = last(await run({ text: MULTI_PART }));
    expect(final?.kind === 'status' && [final.state, final.text]).toEqual([
      TaskState.TASK_STATE_FAILED,
      'No agents are available to plan with: none is configured (AGENT_URLS) or none has answered with an agent card.',
    ]);
  });

  it('fails an invalid planningRequest with invalid_request, without calling the LLM', async () => {
    const final = last(await run({ text: 'x', data: { planningRequest: { request: 'plan', replan: { reason: 'r' } } } }));
    expect(final?.kind === 'status' && final.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(final?.kind === 'status' && final.data[0]).toMatchObject({ error: { code: ErrorCode.InvalidRequest } });
    expect(state.requests.list()).toHaveLength(0);
  });
});
