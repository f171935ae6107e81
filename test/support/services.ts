import { type ServiceProcess, startService } from './processes.js';

/**
 * The services the integration and e2e suites start as real processes (mock agents, the orchestrator),
 * by behaviour rather than by environment variables.
 */

export interface MockAgentSpec {
  name: string;
  /** A built-in behaviour (`apps/mock-agents` presets, e.g. `operations`); the other fields override it. */
  preset?: string;
  reply?: string;
  delayMs?: number;
  data?: Record<string, unknown>;
  statusUpdates?: string[];
  failure?: Record<string, unknown>;
  /** Fixed port (to restart a killed agent where the orchestrator knows it); default 0. */
  port?: number;
}

/** One `apps/mock-agents` process with the given behaviour (in-memory task store). */
export function startMockAgent(spec: MockAgentSpec): Promise<ServiceProcess> {
  if (spec.preset !== undefined) {
    const { name: _name, preset, port, ...overrides } = spec;
    return startService({
      name: `mock-${spec.name}`,
      entry: 'apps/mock-agents/src/main.ts',
      env: { MOCK_AGENT_PRESET: preset, MOCK_AGENT_CONFIG: JSON.stringify(overrides), MOCK_AGENT_PORT: String(port ?? 0), MOCK_AGENT_TASK_STORE: 'memory', LOG_LEVEL: 'info' },
    });
  }
  const config = {
    name: spec.name,
    description: `Mock agent ${spec.name} for orchestrator tests`,
    skills: [{ id: `${spec.name}-skill`, name: spec.name, description: `Does ${spec.name} things`, tags: ['test'], examples: [] }],
    reply: spec.reply ?? `${spec.name}({{input}})`,
    delayMs: spec.delayMs ?? 0,
    statusUpdates: spec.statusUpdates ?? [],
    ...(spec.data === undefined ? {} : { data: spec.data }),
    ...(spec.failure === undefined ? {} : { failure: spec.failure }),
  };
  return startService({
    name: `mock-${spec.name}`,
    entry: 'apps/mock-agents/src/main.ts',
    env: { MOCK_AGENT_CONFIG: JSON.stringify(config), MOCK_AGENT_PORT: String(spec.port ?? 0), MOCK_AGENT_TASK_STORE: 'memory', LOG_LEVEL: 'info' },
  });
}

/** Tasks a mock agent process finished in a given state (from its `task finished` log lines). */
export function finishedTasks(agent: ServiceProcess, state = 'completed'): number {
  return agent.lines.filter((line) => line.includes('"msg":"task finished"') && line.includes(`"state":"${state}"`)).length;
}

export interface OrchestratorEnv {
  agentUrls: string[];
  redisUrl: string;
  prefix: string;
  llmUrl: string;
  token: string;
  extra?: Record<string, string>;
  /** Another checkout to run the orchestrator from (a benchmark's A/B of two builds); this one by default. */
  checkout?: string;
}

export function startOrchestrator(name: string, env: OrchestratorEnv): Promise<ServiceProcess> {
  return startService({
    name,
    entry: `${env.checkout === undefined ? '' : `${env.checkout.replace(/\/$/, '')}/`}apps/orchestrator/src/main.ts`,
    env: {
      ORCHESTRATOR_PORT: '0',
      AGENT_URLS: env.agentUrls.join(','),
      AGENT_AUTH_TOKENS: env.token,
      REDIS_URL: env.redisUrl,
      REDIS_KEY_PREFIX: env.prefix,
      OPENAI_BASE_URL: `${env.llmUrl}/v1`,
      OPENAI_API_KEY: 'test',
      ORCHESTRATOR_MODEL: 'sim-model',
      ...env.extra,
    },
  });
}
