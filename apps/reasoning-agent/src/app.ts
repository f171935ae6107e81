import { type AgentCardSpec } from '@ensemble/a2a';
import { type AgentService, type PushNotificationOptions, type TaskStore, createAgentService } from '@ensemble/a2a/server';
import type { McpToolbox } from '@ensemble/mcp';
import type { Logger } from '@ensemble/telemetry';
import type { ReadinessCheck } from '@ensemble/service';
import type OpenAI from 'openai';

import { createReasoningRun } from './reasoning-loop.js';

export const REASONING_AGENT_NAME = 'reasoning-agent';

/** What planners read: when to pick this agent, and example requests it handles well. */
export const REASONING_AGENT_CARD: AgentCardSpec = {
  name: REASONING_AGENT_NAME,
  description:
    'Multi-step reasoning with tools: an LLM that works a problem step by step and calls MCP tools (exact calculator, unit ' +
    'conversion, dates and time zones, knowledge base search, weather, web search) in parallel when useful, showing every ' +
    'tool call and result as it goes. Tools marked sensitive wait for human approval.',
  skills: [
    {
      id: 'reasoning',
      name: 'Multi-step reasoning with tools',
      description:
        'Answers questions that need several steps of thought or exact computation: arithmetic and statistics, unit and ' +
        'currency-free conversions, date and time-zone arithmetic, combining facts from the knowledge base or the web into ' +
        'a conclusion. Give it the question and any context from earlier steps; it returns a concise answer with how it got there.',
      tags: ['reasoning', 'tools', 'mcp', 'calculation', 'analysis', 'math', 'dates'],
      examples: [
        'If a train leaves at 14:35 and the trip takes 3 h 50 min, when does it arrive in New York time if it departs from Chicago?',
        'What is the compound growth of 12,000 at 4.5% a year over 7 years?',
        'Convert a 42.195 km marathon to miles and compute the pace per mile for a 3:30 finish.',
        'Given these sales figures from the previous step, which region grew fastest and by how much?',
      ],
    },
  ],
  provider: { organization: 'Ensemble', url: 'https://github.com/ensemble' },
};

export interface ReasoningAgentAppDeps {
  llm: OpenAI;
  toolbox: McpToolbox;
  model: string;
  maxSteps: number;
  toolTimeoutMs?: number;
  llmTimeoutMs?: number;
  logger: Logger;
  /** Default: in memory. Deployments use `RedisTaskStore` so approvals survive restarts and move between replicas. */
  taskStore?: TaskStore;
  /** What `/ready` verifies besides draining (Redis, the LLM, the database). */
  readiness?: readonly ReadinessCheck[];
  authTokens?: readonly string[];
  publicUrl?: string;
  shutdownGraceMs?: number;
  /** Largest A2A request body (`A2A_MAX_BODY_BYTES`); default 4 MiB. */
  maxBodyBytes?: number;
  /** A2A push notifications: where configs live, and whether private-network webhooks are allowed. */
  pushNotifications?: PushNotificationOptions;
}

/**
 * The reasoning agent as an A2A service (card, JSON-RPC, HTTP+JSON, streaming, `/health`), plus
 * `GET /tools`: the MCP servers it is connected to and the tools it offers the model, for operators.
 */
export function createReasoningAgentApp(deps: ReasoningAgentAppDeps): AgentService {
  const service = createAgentService({
    card: REASONING_AGENT_CARD,
    executor: createReasoningRun({
      llm: deps.llm,
      toolbox: deps.toolbox,
      model: deps.model,
      maxSteps: deps.maxSteps,
      agentName: REASONING_AGENT_NAME,
      ...(deps.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: deps.toolTimeoutMs }),
      ...(deps.llmTimeoutMs === undefined ? {} : { llmTimeoutMs: deps.llmTimeoutMs }),
    }),
    taskStore: deps.taskStore,
    readiness: deps.readiness,
    logger: deps.logger,
    auth: { tokens: deps.authTokens ?? [] },
    publicUrl: deps.publicUrl,
    shutdownGraceMs: deps.shutdownGraceMs,
    maxBodyBytes: deps.maxBodyBytes,
    pushNotifications: deps.pushNotifications,
  });
  service.app.get('/tools', (c) =>
    c.json({
      servers: deps.toolbox.status(),
      tools: deps.toolbox.tools().map((tool) => ({ name: tool.name, server: tool.server, requires_approval: tool.requiresApproval })),
    }),
  );
  return service;
}
