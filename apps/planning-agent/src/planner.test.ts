import { validatePlan } from '@ensemble/dag';
import { createLlmClient } from '@ensemble/llm';
import { EnsembleError, ErrorCode, type ExecutionPlan, type PlanNode, type ReplanRequest } from '@ensemble/protocol';
import { type RunningServer, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createSimLlmApp } from '../../sim-llm/src/app.js';
import type { SimLlmState } from '../../sim-llm/src/state.js';
import { buildPlannerCatalog } from './catalog.js';
import { type LlmClient, type PlanAttemptInfo, type PlannerSettings, planWorkflow } from './planner.js';
import { PRESET_CATALOG_ENTRIES } from './testing/preset-catalog.js';

const entries = PRESET_CATALOG_ENTRIES;
const catalog = buildPlannerCatalog(entries);
const settings: PlannerSettings = { model: 'gpt-4o-mini', temperature: 0, maxAttempts: 3 };
const MULTI_PART = 'Research the latest vector database releases on the web, check our internal documents for the current database policy, and then analyse the findings and recommend one.';

let server: RunningServer;
let state: SimLlmState;
let llm: LlmClient;

beforeAll(async () => {
  const sim = createSimLlmApp({ ttftMs: 0 });
  state = sim.state;
  server = await serveHttp(sim.app, { host: '127.0.0.1', port: 0, logger: createLogger({ service: 'sim-llm-test', level: 'silent' }), service: 'sim-llm' });
  // No SDK retries: every LLM call the planner makes is one recorded request.
  llm = createLlmClient({ baseURL: `${server.url}/v1`, apiKey: 'test', maxRetries: 0, timeoutMs: 10_000 });
});
afterEach(() => state.reset());
afterAll(async () => {
  await server.close();
});

function planNode(id: string, agent: string, skill: string, dependsOn: string[] = [], input = '{{request}}'): PlanNode {
  return { id, agent, skill, input, dependsOn, condition: null, retry: { maxAttempts: 2, backoffMs: 500 }, timeoutMs: 60_000, fallbackAgent: null, description: id };
}

const unknownAgentPlan: ExecutionPlan = { goal: 'g', rationale: 'r', nodes: [planNode('lookup', 'weather-agent', 'forecast'), planNode('answer', 'reasoning-agent', 'reasoning', ['lookup'])] };
const cyclicPlan: ExecutionPlan = {
  goal: 'g',
  rationale: 'r',
  nodes: [planNode('a', 'search-agent', 'web-search', ['b'], '{{nodes.b.output}}'), planNode('b', 'reasoning-agent', 'reasoning', ['a'], '{{nodes.a.output}}')],
};

/** Runs the planner recording its progress callbacks. */
async function plan(input: { request?: string; replan?: ReplanRequest; settings?: Partial<PlannerSettings>; signal?: AbortSignal; catalog?: typeof catalog } = {}) {
  const attempts: PlanAttemptInfo[] = [];
  const result = await planWorkflow(llm, { ...settings, ...input.settings }, {
    request: input.request ?? MULTI_PART,
    catalog: input.catalog ?? catalog,
    replan: input.replan,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
    onAttempt: (info) => attempts.push(info),
  });
  return { result, attempts };
}

function messagesOf(index: number): { role: string; content: string }[] {
  const body = state.requests.list()[index]?.body as { messages: { role: string; content: string }[] } | undefined;
  return body?.messages ?? [];
}

describe('planWorkflow', () => {
  it('plans a multi-part request on the first attempt with sim-llm: valid, parallel, only catalog agents', async () => {
    const { result, attempts } = await plan();
    expect(result.attempts).toBe(1);
    expect(result.revision).toBeNull();
    expect(attempts).toEqual([{ attempt: 1, maxAttempts: 3, problems: [] }]);
    expect(validatePlan(result.plan, { catalog: catalog.validation }).ok).toBe(true);
    expect(result.plan.nodes.length).toBeGreaterThanOrEqual(3);
    expect(result.plan.nodes.filter((node) => node.dependsOn.length === 0).length).toBeGreaterThanOrEqual(2);
    const request = state.requests.list()[0]!;
    expect(request.replySource).toBe('behaviour:execution-plan');
    expect((request.body as { response_format: { json_schema: { name: string } } }).response_format.json_schema.name).toBe('execution_plan');
  });

  it.each([
    ['an unknown agent', unknownAgentPlan, /nodes\[0\]\.agent: Node "lookup" agent "weather-agent" is not a known agent/],
    ['a cycle', cyclicPlan, /cycle/i],
  ])('re-asks after %s, with the problems, and succeeds on attempt 2', async (_label, invalid, problem) => {
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { json: invalid }, times: 1 });
    const { result, attempts } = await plan();
    expect(result.attempts).toBe(2);
    expect(attempts.map((info) => info.attempt)).toEqual([1, 2]);
    expect(attempts[1]!.problems.some((text) => problem.test(text))).toBe(true);
    expect(validatePlan(result.plan, { catalog: catalog.validation }).ok).toBe(true);
    // The second call replays the invalid plan and lists the problems after it.
    const second = messagesOf(1);
    expect(second.at(-2)).toEqual({ role: 'assistant', content: JSON.stringify(invalid) });
    expect(second.at(-1)?.role).toBe('user');
    expect(second.at(-1)?.content).toMatch(problem);
    expect(second.at(-1)?.content).toMatch(/^The plan of attempt 1 is not valid:/);
  });

  it('re-asks when the reply does not even match the schema (bad node id), naming the field', async () => {
    const badId = { ...unknownAgentPlan, nodes: [{ ...planNode('x', 'search-agent', 'web-search'), id: 'Not A Slug!' }] };
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { json: badId }, times: 1 });
    const { result, attempts } = await plan();
    expect(result.attempts).toBe(2);
    expect(attempts[1]!.problems).toEqual([expect.stringMatching(/^the reply is not a valid execution_plan: nodes\.0\.id: Node ids are slugs/)]);
    expect(messagesOf(1).at(-1)?.content).toContain('nodes.0.id');
  });

  it('re-asks when the reply is not JSON', async () => {
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { content: 'Sure! Here is a plan: first search, then think.' }, times: 1 });
    const { result, attempts } = await plan();
    expect(result.attempts).toBe(2);
    expect(attempts[1]!.problems[0]).toMatch(/^the reply is not a valid execution_plan: not JSON/);
  });

  it('fails after PLANNER_MAX_ATTEMPTS invalid plans, listing the problems of every attempt', async () => {
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { json: unknownAgentPlan } });
    const error = await plan().catch((caught: unknown) => caught);
    expect(EnsembleError.is(error, ErrorCode.UpstreamError)).toBe(true);
    const failure = error as EnsembleError;
    expect(failure.wireCode).toBe('invalid_plan');
    expect(failure.message).toMatch(/^The planner could not produce a valid plan in 3 attempts\. Problems with the last plan:\n- nodes\[0\]\.agent: .*weather-agent/);
    expect(failure.details?.['attempts']).toHaveLength(3);
    expect(state.requests.list()).toHaveLength(3);
  });

  it('honours maxAttempts = 1: no re-ask', async () => {
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { json: cyclicPlan } });
    await expect(plan({ settings: { maxAttempts: 1 } })).rejects.toThrow(/in 1 attempt\. .*\n- .*cycle/is);
    expect(state.requests.list()).toHaveLength(1);
  });

  it('does not re-ask when the LLM itself fails: the transport error propagates', async () => {
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { error: { status: 503, message: 'overloaded' } } });
    const error = await plan().catch((caught: unknown) => caught);
    expect(EnsembleError.is(error, ErrorCode.UpstreamError)).toBe(true);
    expect((error as EnsembleError).wireCode).not.toBe('invalid_plan');
    expect((error as EnsembleError).message).toMatch(/503/);
    expect(state.requests.list()).toHaveLength(1);
  });

  it('fails with `unavailable` when no agent can be planned with, without calling the LLM', async () => {
    const down = buildPlannerCatalog(entries.map((entry) => ({ ...entry, available: false, status: 'unavailable' as const })));
    const error = await plan({ catalog: down }).catch((caught: unknown) => caught);
    expect(EnsembleError.is(error, ErrorCode.Unavailable)).toBe(true);
    expect((error as Error).message).toMatch(/every known agent is unavailable \(reasoning-agent, rag-agent, search-agent, analysis-agent, operations-agent\)/);
    const none = await plan({ catalog: buildPlannerCatalog([]) }).catch((caught: unknown) => caught);
    expect((none as Error).message).toMatch(/none is configured \(AGENT_URLS\)/);
    expect(state.requests.list()).toHaveLength(0);
  });

  it('stops when the caller aborts', async () => {
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { hang: true } });
    const controller = new AbortController();
    const pending = plan({ signal: controller.signal }).catch((caught: unknown) => caught);
    await state.requests.waitFor({ count: 1, timeoutMs: 5_000 });
    controller.abort();
    expect(EnsembleError.is(await pending, ErrorCode.Cancelled)).toBe(true);
  });
});

describe('planWorkflow: re-planning', () => {
  async function firstPlan(): Promise<ExecutionPlan> {
    const { result } = await plan();
    state.reset();
    return result.plan;
  }

  it('keeps the finished nodes and returns the revision (one node added by sim-llm)', async () => {
    const current = await firstPlan();
    const [first, second] = current.nodes;
    const replan: ReplanRequest = {
      plan: current,
      results: { [first!.id]: { status: 'completed', output: 'policy says X' }, [second!.id]: { status: 'completed', output: 'web says Y' } },
      reason: 'the web and the policy disagree',
    };
    const { result } = await plan({ replan });
    expect(result.attempts).toBe(1);
    for (const node of current.nodes) expect(result.plan.nodes.find((candidate) => candidate.id === node.id)).toEqual(node);
    expect(result.revision).toMatchObject({ reason: 'the web and the policy disagree', skipNodes: [], updateNodes: [] });
    expect(result.revision?.addNodes).toHaveLength(1);
    expect(result.revision?.addNodes[0]?.dependsOn).toEqual([first!.id, second!.id]);
    expect(messagesOf(0).at(-1)?.content).toContain('Current plan (JSON):');
  });

  it('re-asks when a revision changes a completed node', async () => {
    const current = await firstPlan();
    const done = current.nodes[0]!;
    const tampered: ExecutionPlan = { ...current, nodes: current.nodes.map((node) => (node.id === done.id ? { ...node, input: 'something else' } : node)) };
    state.scripts.add({ match: { schemaName: 'execution_plan' }, reply: { json: tampered }, times: 1 });
    const { result, attempts } = await plan({ replan: { plan: current, results: { [done.id]: { status: 'completed', output: 'x' } }, reason: 'more detail needed' } });
    expect(result.attempts).toBe(2);
    expect(attempts[1]!.problems).toEqual([`nodes: node "${done.id}" is completed and must stay unchanged, but its input changed; copy it exactly from the current plan`]);
    expect(result.plan.nodes.find((node) => node.id === done.id)).toEqual(done);
  });

  it('does not blame a finished node for an agent that has gone since', async () => {
    const current: ExecutionPlan = { goal: 'g', rationale: 'r', nodes: [planNode('old', 'retired-agent', 'legacy'), planNode('next', 'reasoning-agent', 'reasoning', ['old'], '{{nodes.old.output}}')] };
    const { result } = await plan({ replan: { plan: current, results: { old: { status: 'completed', output: 'done' } }, reason: 'continue' } });
    expect(result.attempts).toBe(1);
    expect(result.plan.nodes[0]).toEqual(current.nodes[0]);
  });
});
