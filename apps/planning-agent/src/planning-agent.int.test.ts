import { TaskState } from '@a2a-js/sdk';
import { partsData } from '@ensemble/a2a';
import { type A2AStreamEvent, AgentRegistry, createA2AClient, resetAgentBreakers } from '@ensemble/a2a/client';
import { RedisAgentCardCache } from '@ensemble/a2a/redis';
import { PLANNING_SKILL_ID, PLAN_ARTIFACT_NAME, PlanningResult, type ReplanRequest } from '@ensemble/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ServiceProcess, startService, stopAllServices } from '../../../test/support/processes.js';
import { testRedis } from '../../../test/support/redis.js';

/**
 * The planning agent as a real process, with sim-llm, three mock agents and a stand-in orchestrator as
 * real processes too: discovery over HTTP, cards cached in the machine's Redis (this file's own key
 * prefix), plans over A2A.
 */
const redis = testRedis();
let planner: ServiceProcess;
let registry: AgentRegistry | undefined;
const workers: ServiceProcess[] = [];

const MULTI_PART = 'Research the latest vector database releases on the web, check our internal documents for the current database policy, and then recommend one.';

beforeAll(async () => {
  const mock = (name: string, env: Record<string, string>) =>
    startService({ name, entry: 'apps/mock-agents/src/main.ts', env: { MOCK_AGENT_PORT: '0', MOCK_AGENT_TASK_STORE: 'memory', ...env } });
  // allSettled, not all: a start that fails must not leave the others running unowned (each either
  // listens, and stopAllServices stops it, or is killed by startService itself).
  const started = await Promise.allSettled([
    startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } }),
    mock('search', { MOCK_AGENT_PRESET: 'search' }),
    mock('rag', { MOCK_AGENT_PRESET: 'rag' }),
    mock('reasoning', { MOCK_AGENT_PRESET: 'reasoning' }),
    // Listed in AGENT_URLS like any agent, but a coordinator: the planner must never plan with it.
    mock('orchestrator', {
      MOCK_AGENT_CONFIG: JSON.stringify({
        name: 'orchestrator',
        description: 'Coordinates multi-agent workflows (stand-in).',
        skills: [{ id: 'multi-agent-orchestration', name: 'Orchestration', description: 'Runs plans; answers search and research requests end to end.', tags: ['orchestration', 'search', 'web'] }],
      }),
    }),
  ]);
  const failure = started.find((outcome) => outcome.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  const [sim, ...agents] = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  workers.push(...agents);
  planner = await startService({
    name: 'planning-agent',
    entry: 'apps/planning-agent/src/main.ts',
    env: {
      PLANNING_AGENT_PORT: '0',
      AGENT_URLS: agents.map((agent) => agent.url).join(','),
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      OPENAI_BASE_URL: `${sim!.url}/v1`,
      OPENAI_API_KEY: 'test',
      A2A_TASK_TTL_SECONDS: '300',
    },
  });
  // What the orchestrator does: discover the planner by its skill, never by a configured role.
  registry = new AgentRegistry({ agentUrls: [...agents.map((agent) => agent.url), planner.url], cache: new RedisAgentCardCache(redis.redis, { keyPrefix: redis.prefix }) });
  await registry.refresh();
});

afterAll(async () => {
  resetAgentBreakers();
  await registry?.stop();
  await stopAllServices();
  await redis.cleanup();
});

async function askPlanner(input: { text: string; data?: Record<string, unknown> }): Promise<{ events: A2AStreamEvent[]; result: PlanningResult }> {
  const match = registry?.resolveSkill(PLANNING_SKILL_ID);
  expect(match?.agent.name).toBe('planning-agent');
  const client = await createA2AClient({ card: match!.agent.card!, url: match!.agent.url, retry: false, timeoutMs: 20_000 });
  const events: A2AStreamEvent[] = [];
  for await (const event of client.stream(input)) events.push(event);
  const final = events.at(-1);
  expect(final?.kind === 'status' && final.state, final?.kind === 'status' ? final.text : 'no final status').toBe(TaskState.TASK_STATE_COMPLETED);
  const artifact = events.find((event) => event.kind === 'artifact' && event.artifact.name === PLAN_ARTIFACT_NAME);
  return { events, result: PlanningResult.parse(artifact?.kind === 'artifact' ? partsData(artifact.artifact.parts)[0] : undefined) };
}

describe('planning agent (real processes)', () => {
  it('plans a multi-part request with parallel branches, using only the discovered worker agents', async () => {
    const { events, result } = await askPlanner({ text: MULTI_PART });
    const { plan } = result;
    expect(plan.nodes.length).toBeGreaterThanOrEqual(3);
    const roots = plan.nodes.filter((node) => node.dependsOn.length === 0);
    expect(roots.length).toBeGreaterThanOrEqual(2);
    expect(new Set(plan.nodes.map((node) => node.agent))).toEqual(new Set(['search-agent', 'rag-agent', 'reasoning-agent']));
    // The last node combines every branch.
    const sinks = plan.nodes.filter((node) => !plan.nodes.some((other) => other.dependsOn.includes(node.id)));
    expect(sinks).toHaveLength(1);
    expect(sinks[0]?.dependsOn).toEqual(roots.map((node) => node.id));
    const progress = events.flatMap((event) => (event.kind === 'status' ? [event.text] : []));
    expect(progress).toContain('Planning with 3 available agents: search-agent, rag-agent, reasoning-agent');
    // The planner's registry filled the shared card cache (this file's prefix only).
    expect(await redis.redis.keys(`${redis.prefix}agent-card:*`)).toHaveLength(workers.length + 1);
  });

  it('revises a running plan: completed nodes keep their ids and definitions, one node is added', async () => {
    const { result: first } = await askPlanner({ text: MULTI_PART });
    const completed = first.plan.nodes.filter((node) => node.dependsOn.length === 0);
    const replan: ReplanRequest = {
      plan: first.plan,
      results: Object.fromEntries(completed.map((node) => [node.id, { status: 'completed' as const, output: `${node.agent} found something surprising` }])),
      reason: 'the search results contradict the internal policy',
    };
    const { result } = await askPlanner({ text: MULTI_PART, data: { planningRequest: { request: MULTI_PART, replan } } });
    for (const node of completed) expect(result.plan.nodes.find((candidate) => candidate.id === node.id)).toEqual(node);
    expect(result.revision?.reason).toBe(replan.reason);
    expect(result.revision?.skipNodes).toEqual([]);
    expect(result.revision?.addNodes).toHaveLength(1);
    expect(result.revision?.addNodes[0]?.dependsOn).toEqual(completed.map((node) => node.id));
  });
});
