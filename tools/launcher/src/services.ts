import { randomBytes } from 'node:crypto';

import type { LauncherConfig } from './config.js';
import type { ServiceSpec } from './supervisor.js';

/** URLs of services already started, by name, plus what the launcher resolved itself. */
export interface LaunchContext {
  config: LauncherConfig;
  urls: ReadonlyMap<string, string>;
}

export interface PlannedService {
  name: string;
  /** Services in one wave start together; a wave starts when the previous one is healthy. */
  wave: number;
  spec(context: LaunchContext): Omit<ServiceSpec, 'name'>;
}

/** Where the services' LLM is: the configured one, or the sim-llm the launcher starts. */
export function llmBaseUrl(context: LaunchContext): string {
  if (context.config.OPENAI_BASE_URL !== undefined) return context.config.OPENAI_BASE_URL;
  if (context.config.OPENAI_API_KEY !== undefined) return 'https://api.openai.com/v1';
  return `${requireUrl(context, 'sim-llm')}/v1`;
}

export function usesSimLlm(config: LauncherConfig): boolean {
  return config.OPENAI_BASE_URL === undefined && config.OPENAI_API_KEY === undefined;
}

function requireUrl(context: LaunchContext, name: string): string {
  const url = context.urls.get(name);
  if (url === undefined) throw new Error(`${name} must start before the services that use it`);
  return url;
}

/** `name`, `name-2`, `name-3`...: one per replica, the first keeps the plain name. */
function replicaNames(name: string, replicas: number): string[] {
  return Array.from({ length: replicas }, (_, index) => (index === 0 ? name : `${name}-${index + 1}`));
}

/** Replica `index`'s port: the first's plus 20 per replica (0 stays 0: any free port). */
function replicaPort(first: number, index: number): string {
  return first === 0 ? '0' : String(first + 20 * index);
}

/**
 * The mock agents `make up` runs beside the real ones (web search and data analysis have no real agent
 * yet; operations is the offline demo of an approval), with their slot after `MOCK_AGENTS_BASE_PORT` (the slots `apps/mock-agents` uses on its own).
 */
const MOCK_SLOTS = { search: 2, analysis: 3, operations: 4 } as const;
type MockPreset = keyof typeof MOCK_SLOTS;

export interface PlanOptions {
  /** The internal agent token when none is configured; a fresh random one by default. */
  internalToken?: string;
}

/**
 * The system `make up` runs, in dependency order. Every service is its own process; URLs flow from the
 * services that bound them to the services that call them, so ports can be changed (or set to 0) freely.
 *
 * | wave | services                                                                             |
 * |------|--------------------------------------------------------------------------------------|
 * | 0    | sim-llm (no LLM configured), embedded-postgres (no `DATABASE_URL`)                    |
 * | 1    | mcp-tools, mock agents (search, analysis, operations)                                 |
 * | 2    | reasoning-agent (uses mcp-tools), rag-agent (uses the database; seeds the sample corpus) |
 * | 3    | planning-agent (discovers the worker agents)                                          |
 * | 4    | orchestrator (planner and workers)                                                    |
 * | 5    | gateway (orchestrator, and every agent for `GET /v1/agents`)                          |
 *
 * The orchestrator trusts the end user's identity only from callers presenting one of its tokens, so
 * the gateway and the orchestrator share an internal token: the first of `AGENT_AUTH_TOKENS`, or a
 * random one for this launch.
 */
export function planServices(config: LauncherConfig, options: PlanOptions = {}): PlannedService[] {
  const internalToken = config.AGENT_AUTH_TOKENS[0] ?? options.internalToken ?? randomBytes(24).toString('hex');
  const agentTokens = config.AGENT_AUTH_TOKENS.length > 0 ? config.AGENT_AUTH_TOKENS.join(',') : internalToken;
  const shared = (context: LaunchContext) => ({ REDIS_URL: context.config.REDIS_URL, A2A_PUSH_ALLOW_PRIVATE: String(context.config.A2A_PUSH_ALLOW_PRIVATE) });
  const pgDataDir = `${config.ENSEMBLE_DATA_DIR}/pglite`;
  // Where the knowledge base lives: the configured PostgreSQL, or the embedded server started here.
  const database = (context: LaunchContext): Record<string, string> =>
    context.config.DATABASE_URL !== undefined ? { DATABASE_URL: context.config.DATABASE_URL } : { EMBEDDED_PG_URL: requireUrl(context, 'embedded-postgres'), EMBEDDED_PG_DATA_DIR: pgDataDir };

  const services: PlannedService[] = [];
  if (usesSimLlm(config)) {
    services.push({
      name: 'sim-llm',
      wave: 0,
      spec: () => ({ entry: 'apps/sim-llm/src/main.ts', portVariable: 'SIM_LLM_PORT', healthPath: '/health', env: {} }),
    });
  }
  if (config.DATABASE_URL === undefined) {
    services.push({
      name: 'embedded-postgres',
      wave: 0,
      // Not HTTP: its `listening` line (with the postgres:// URL) is the readiness signal.
      spec: () => ({ entry: 'apps/embedded-postgres/src/main.ts', portVariable: 'EMBEDDED_PG_PORT', healthPath: null, env: { EMBEDDED_PG_DATA_DIR: pgDataDir } }),
    });
  }
  services.push({
    name: 'mcp-tools',
    wave: 1,
    spec: (context) => ({ entry: 'apps/mcp-tools/src/main.ts', portVariable: 'MCP_TOOLS_PORT', healthPath: '/health', env: { ...database(context) } }),
  });

  const mocks: MockPreset[] = ['search', 'analysis', 'operations'];
  for (const preset of mocks) {
    services.push({
      name: `mock-${preset}`,
      wave: 1,
      spec: (context) => ({
        entry: 'apps/mock-agents/src/main.ts',
        portVariable: 'MOCK_AGENT_PORT',
        healthPath: '/health',
        env: {
          ...shared(context),
          MOCK_AGENT_PRESET: preset,
          MOCK_AGENT_PORT: context.config.MOCK_AGENTS_BASE_PORT === 0 ? '0' : String(context.config.MOCK_AGENTS_BASE_PORT + MOCK_SLOTS[preset]),
        },
      }),
    });
  }
  services.push({
    name: 'reasoning-agent',
    wave: 2,
    spec: (context) => ({
      entry: 'apps/reasoning-agent/src/main.ts',
      portVariable: 'REASONING_AGENT_PORT',
      healthPath: '/health',
      // The MCP config file reaches the tool server through `${MCP_TOOLS_PORT}`: the port it really bound.
      env: { ...shared(context), OPENAI_BASE_URL: llmBaseUrl(context), MCP_TOOLS_PORT: new URL(requireUrl(context, 'mcp-tools')).port },
    }),
  });
  services.push({
    name: 'rag-agent',
    wave: 2,
    spec: (context) => ({
      entry: 'apps/rag-agent/src/main.ts',
      portVariable: 'RAG_AGENT_PORT',
      healthPath: '/health',
      env: { ...shared(context), ...database(context), OPENAI_BASE_URL: llmBaseUrl(context), RAG_SEED_PATHS: context.config.RAG_SEED_PATHS },
    }),
  });

  const workerNames = [...mocks.map((preset) => `mock-${preset}`), 'reasoning-agent', 'rag-agent'];
  const workerUrls = (context: LaunchContext) => workerNames.map((name) => requireUrl(context, name));
  services.push({
    name: 'planning-agent',
    wave: 3,
    spec: (context) => ({
      entry: 'apps/planning-agent/src/main.ts',
      portVariable: 'PLANNING_AGENT_PORT',
      healthPath: '/health',
      env: { ...shared(context), OPENAI_BASE_URL: llmBaseUrl(context), AGENT_URLS: workerUrls(context).join(',') },
    }),
  });
  // Replicas: every orchestrator runs over the same Redis (sessions, event logs, leases), so any of them
  // runs any session; every gateway is given all of them and takes them in turn.
  const orchestrators = replicaNames('orchestrator', config.REPLICAS);
  for (const [index, name] of orchestrators.entries()) {
    services.push({
      name,
      wave: 4,
      spec: (context) => ({
        entry: 'apps/orchestrator/src/main.ts',
        portVariable: 'ORCHESTRATOR_PORT',
        healthPath: '/health',
        env: {
          ...shared(context),
          ORCHESTRATOR_PORT: replicaPort(config.ORCHESTRATOR_PORT, index),
          OPENAI_BASE_URL: llmBaseUrl(context),
          AGENT_URLS: [requireUrl(context, 'planning-agent'), ...workerUrls(context)].join(','),
          AGENT_AUTH_TOKENS: agentTokens,
          AGENT_CLIENT_TOKEN: internalToken,
        },
      }),
    });
  }
  for (const [index, name] of replicaNames('gateway', config.REPLICAS).entries()) {
    services.push({
      name,
      wave: 5,
      spec: (context) => ({
        entry: 'apps/gateway/src/main.ts',
        portVariable: 'GATEWAY_PORT',
        healthPath: '/health',
        env: {
          ...shared(context),
          GATEWAY_PORT: replicaPort(config.GATEWAY_PORT, index),
          OPENAI_BASE_URL: llmBaseUrl(context),
          ORCHESTRATOR_URL: orchestrators.map((orchestrator) => requireUrl(context, orchestrator)).join(','),
          AGENT_CLIENT_TOKEN: internalToken,
          AGENT_URLS: [requireUrl(context, 'orchestrator'), requireUrl(context, 'planning-agent'), ...workerUrls(context)].join(','),
        },
      }),
    });
  }
  return services;
}
