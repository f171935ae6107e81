import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe } from 'vitest';

import { type ServiceProcess, startService, stopAllServices } from '../../support/processes.js';
import { testRedis } from '../../support/redis.js';
import { type ConformanceTarget, describeA2AConformance } from '../conformance.js';

/**
 * Starts the agents Ensemble ships, each as a real process on port 0 with what it needs (sim-llm for
 * the LLM, the MCP tools server, the embedded Postgres, a planner for the orchestrator), Redis under a
 * key prefix of its own, and optionally a bearer token. Everything started here is stopped by
 * `stop()`, and Redis keys under the prefix are deleted.
 */

/**
 * The conformance suite against one agent: the shared dependencies and what `start` launches come up
 * before the file's tests (within `timeoutMs`) and go down after them, even when starting failed
 * half-way. Returns the target, for the agent's own checks beside the suite.
 */
export function describeAgentConformance(title: string, start: (deps: Dependencies) => Promise<ConformanceTarget>, timeoutMs = 120_000): () => ConformanceTarget {
  let deps: Dependencies | undefined;
  let target: ConformanceTarget | undefined;
  beforeAll(async () => {
    deps = await startDependencies();
    target = await start(deps);
  }, timeoutMs);
  afterAll(async () => {
    await stopEverything(deps);
  });
  const current = () => {
    if (target === undefined) throw new Error(`${title}: the agent under test did not start`);
    return target;
  };
  describe(`A2A conformance: ${title}`, () => {
    describeA2AConformance(current);
  });
  return current;
}

/** Stops what a file started even when its `beforeAll` failed half-way. */
export async function stopEverything(deps: Dependencies | undefined): Promise<void> {
  if (deps === undefined) await stopAllServices();
  else await deps.stop();
}

/** Bearer token the suite uses for agents started with auth. */
export const CONFORMANCE_TOKEN = 'a2a-conformance-token';

export interface Dependencies {
  redis: ReturnType<typeof testRedis>;
  /** Environment every agent gets: Redis under this run's prefix, quiet logs. */
  shared: Record<string, string>;
  sim: ServiceProcess;
  /** OPENAI_BASE_URL / OPENAI_API_KEY for sim-llm. */
  llm: Record<string, string>;
  /** Requests containing this text make the LLM call hang until the caller gives up (a task that keeps running). */
  hangMarker: string;
  /** Extra cleanups (temp dirs) run by `stop()`. */
  cleanups: (() => Promise<void>)[];
  stop(): Promise<void>;
}

/** Redis prefix, sim-llm with a "hang" script, and the shared environment. */
export async function startDependencies(): Promise<Dependencies> {
  const redis = testRedis();
  const sim = await startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } });
  // Fixed (each file has its own sim-llm): a random marker would change the RAG agent's retrieval
  // scores from run to run, and with them whether the (hanging) answer call is made at all.
  const hangMarker = 'conformance-hang-marker';
  const scripted = await fetch(`${sim.url}/_sim/scripts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ match: { contains: hangMarker }, reply: { hang: true } }),
  });
  if (scripted.status !== 201) throw new Error(`sim-llm refused the hang script: ${scripted.status} ${await scripted.text()}`);
  const cleanups: (() => Promise<void>)[] = [];
  return {
    redis,
    shared: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix },
    sim,
    llm: { OPENAI_BASE_URL: `${sim.url}/v1`, OPENAI_API_KEY: 'conformance' },
    hangMarker,
    cleanups,
    async stop() {
      await stopAllServices();
      for (const cleanup of cleanups.splice(0)) await cleanup();
      await redis.cleanup();
    },
  };
}

function auth(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { AGENT_AUTH_TOKENS: token };
}

export function startMockAgent(deps: Dependencies, options: { name: string; config?: Record<string, unknown>; token?: string }): Promise<ServiceProcess> {
  return startService({
    name: options.name,
    entry: 'apps/mock-agents/src/main.ts',
    env: {
      ...deps.shared,
      ...auth(options.token),
      MOCK_AGENT_PRESET: 'search',
      MOCK_AGENT_PORT: '0',
      ...(options.config === undefined ? {} : { MOCK_AGENT_CONFIG: JSON.stringify(options.config) }),
    },
  });
}

export function startPlanningAgent(deps: Dependencies, options: { agentUrls: string[]; token?: string }): Promise<ServiceProcess> {
  return startService({
    name: 'planning-agent',
    entry: 'apps/planning-agent/src/main.ts',
    env: { ...deps.shared, ...deps.llm, ...auth(options.token), PLANNING_AGENT_PORT: '0', AGENT_URLS: options.agentUrls.join(',') },
  });
}

export async function startReasoningAgent(deps: Dependencies, options: { token?: string }): Promise<ServiceProcess> {
  const mcp = await startService({ name: 'mcp-tools', entry: 'apps/mcp-tools/src/main.ts', env: { MCP_TOOLS_PORT: '0' } });
  const dir = await mkdtemp(join(tmpdir(), 'a2a-conformance-'));
  deps.cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'mcp-servers.json');
  await writeFile(config, JSON.stringify({ mcpServers: { 'ensemble-tools': { url: `${mcp.url}/mcp` } } }));
  return startService({
    name: 'reasoning-agent',
    entry: 'apps/reasoning-agent/src/main.ts',
    env: { ...deps.shared, ...deps.llm, ...auth(options.token), REASONING_AGENT_PORT: '0', MCP_CONFIG_FILE: config },
  });
}

export async function startRagAgent(deps: Dependencies, options: { token?: string }): Promise<ServiceProcess> {
  const postgres = await startService({
    name: 'embedded-postgres',
    entry: 'apps/embedded-postgres/src/main.ts',
    env: { EMBEDDED_PG_PORT: '0', EMBEDDED_PG_DATA_DIR: 'memory' },
    timeoutMs: 60_000,
  });
  return startService({
    name: 'rag-agent',
    entry: 'apps/rag-agent/src/main.ts',
    env: {
      ...deps.shared,
      ...deps.llm,
      ...auth(options.token),
      RAG_AGENT_PORT: '0',
      EMBEDDED_PG_URL: postgres.url,
      VECTOR_STORE_SCHEMA: 'a2a_conformance',
      RAG_SEED_PATHS: 'data/sample-corpus',
      // Any retrieved chunk counts as a source, so every question reaches the answer call (the suite
      // needs that call to hang for its running-task checks).
      RAG_MIN_SCORE: '-1',
    },
    timeoutMs: 60_000,
  });
}

export function startOrchestrator(deps: Dependencies, options: { agentUrls: string[]; token?: string }): Promise<ServiceProcess> {
  return startService({
    name: 'orchestrator',
    entry: 'apps/orchestrator/src/main.ts',
    env: {
      ...deps.shared,
      ...deps.llm,
      ...auth(options.token),
      ...(options.token === undefined ? {} : { AGENT_CLIENT_TOKEN: options.token }),
      ORCHESTRATOR_PORT: '0',
      ORCHESTRATOR_RESUME_SCAN_MS: '0',
      AGENT_URLS: options.agentUrls.join(','),
    },
  });
}
