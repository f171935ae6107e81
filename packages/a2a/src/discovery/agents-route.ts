import { AgentCard } from '@a2a-js/sdk';
import type { Context } from 'hono';

import type { AgentInfo, AgentRegistry } from './agent-registry.js';

/** One agent as `GET /v1/agents` shows it (snake_case, like the rest of the OpenAI-style API). */
export interface AgentListItem {
  object: 'agent';
  name: string | null;
  url: string;
  endpoint: string | null;
  status: AgentInfo['status'];
  available: boolean;
  last_checked: string | null;
  last_error: string | null;
  description: string | null;
  skills: { id: string; name: string; description: string; tags: string[]; examples: string[] }[];
  /** The full Agent Card in its v1.0 wire form; `null` until one has been fetched. */
  card: unknown;
}

export interface AgentList {
  object: 'list';
  data: AgentListItem[];
}

/** The body of `GET /v1/agents`, for callers that render it themselves. */
export function agentList(registry: Pick<AgentRegistry, 'list'>): AgentList {
  return { object: 'list', data: registry.list().map(toListItem) };
}

/**
 * Hono handler for `GET /v1/agents`: every configured agent with its status and card, as
 * `{ object: 'list', data: [...] }`. It reads the registry's in-memory state, so it never waits on an
 * agent. Mount it behind the gateway's auth: `app.get('/v1/agents', agentsRoute(registry))`.
 */
export function agentsRoute(registry: Pick<AgentRegistry, 'list'>): (c: Context) => Response {
  return (c) => c.json(agentList(registry));
}

function toListItem(agent: AgentInfo): AgentListItem {
  return {
    object: 'agent',
    name: agent.name,
    url: agent.url,
    endpoint: agent.endpoint,
    status: agent.status,
    available: agent.status === 'available',
    last_checked: agent.lastChecked,
    last_error: agent.lastError,
    description: agent.summary?.description ?? null,
    skills: agent.summary?.skills ?? [],
    card: agent.card === null ? null : AgentCard.toJSON(agent.card),
  };
}
