import { type A2AClient, type AgentInfo, type AgentRegistry, createA2AClient } from '@ensemble/a2a/client';
import type { AgentCatalog } from '@ensemble/dag';
import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';

/** The registry methods the orchestrator uses (a narrow seam for tests). */
export type AgentDirectory = Pick<AgentRegistry, 'get' | 'resolveSkill' | 'skills'>;

/**
 * The agent a node (or the planner) should call: by card name when the plan names one, else the agent
 * offering the skill. Never by URL: the registry is the only place addresses live.
 */
export function resolveAgent(directory: AgentDirectory, agent: string | null, skill: string | null): AgentInfo {
  if (agent !== null) {
    const info = directory.get(agent);
    if (info?.card == null) {
      // Not retryable (the plan names an agent nobody serves); the node's fallback still gets its turn.
      throw new EnsembleError(ErrorCode.InvalidRequest, `No agent named "${agent}" is registered (check AGENT_URLS)`, { wireCode: 'unknown_agent' });
    }
    return info;
  }
  if (skill !== null) {
    const match = directory.resolveSkill(skill);
    if (match?.agent.card == null) throw new EnsembleError(ErrorCode.InvalidRequest, `No registered agent offers skill "${skill}"`, { wireCode: 'unknown_skill' });
    return match.agent;
  }
  throw new EnsembleError(ErrorCode.InvalidRequest, 'A node needs an agent or a skill');
}

/**
 * The catalog plans are validated against. Availability is not enforced here: the registry's view lags,
 * and a node whose agent is briefly down is the retry policy's and the fallback's business.
 */
export function catalogOf(directory: AgentDirectory): AgentCatalog {
  return { agents: directory.skills().map((entry) => ({ name: entry.agent, skills: entry.skills.map((skill) => skill.id), available: true })) };
}

export interface AgentClientsOptions {
  /** Bearer token presented to agents. */
  token: string | undefined;
  logger: Logger;
}

/** One resilient A2A client per agent endpoint, created from the registry's card on first use. */
export class AgentClients {
  readonly #clients = new Map<string, Promise<A2AClient>>();
  readonly #options: AgentClientsOptions;

  constructor(options: AgentClientsOptions) {
    this.#options = options;
  }

  for(info: AgentInfo): Promise<A2AClient> {
    const card = info.card;
    if (card === null) return Promise.reject(new EnsembleError(ErrorCode.UpstreamUnavailable, `Agent at ${info.url} has no card yet`));
    const key = `${info.url}\u0000${card.version}`;
    let client = this.#clients.get(key);
    if (client === undefined) {
      client = createA2AClient({ card, url: info.url, token: this.#options.token, logger: this.#options.logger });
      // A failed creation is not cached: the next call tries again.
      client.catch(() => this.#clients.delete(key));
      this.#clients.set(key, client);
    }
    return client;
  }
}
