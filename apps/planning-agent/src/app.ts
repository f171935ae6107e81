import { type AgentCardSpec } from '@ensemble/a2a';
import { type AgentService, type PushNotificationOptions, type TaskStore, createAgentService } from '@ensemble/a2a/server';
import { PLANNING_SKILL_ID } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';
import type { ReadinessCheck } from '@ensemble/service';

import { type PlanningAgentDeps, createPlanningRun } from './planning-agent.js';

/**
 * The planner's card. The orchestrator finds it by the skill id (`PLANNING_SKILL_ID`) through discovery;
 * the `workflow-planning` tag also keeps the planner out of its own catalog (see `isCoordinationSkill`).
 */
export const PLANNING_AGENT_CARD: AgentCardSpec = {
  name: 'planning-agent',
  description: 'Turns a request into an execution plan: a DAG of calls to the available agents, with parallel branches, data flow and conditions.',
  skills: [
    {
      id: PLANNING_SKILL_ID,
      name: 'Workflow planning',
      description:
        'Plans a multi-agent workflow for a request from the agents discovered through their Agent Cards, validates it ' +
        '(no cycles, only known agents and skills) and returns it as a data artifact `{ plan, revision, attempts }`. ' +
        'Send `{ planningRequest: { request, conversation?, replan? } }` as a data part to pass context or to revise a ' +
        'running plan given the results so far.',
      tags: ['planning', 'workflow-planning', 'dag'],
      examples: [
        'Research the latest vector databases on the web, check our internal policy documents, then recommend one',
        'Compare the weather in Paris and Rome and suggest where to travel',
      ],
      inputModes: ['text/plain', 'application/json'],
      outputModes: ['application/json', 'text/plain'],
    },
  ],
  provider: { organization: 'Ensemble', url: 'https://github.com/ensemble' },
};

export interface PlanningAgentAppDeps extends PlanningAgentDeps {
  logger: Logger;
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

/** The planning agent as an A2A service (card, JSON-RPC, HTTP+JSON, SSE, health), not yet listening. */
export function createPlanningAgentApp(deps: PlanningAgentAppDeps): AgentService {
  return createAgentService({
    card: PLANNING_AGENT_CARD,
    executor: createPlanningRun(deps),
    taskStore: deps.taskStore,
    readiness: deps.readiness,
    logger: deps.logger,
    auth: { tokens: deps.authTokens ?? [] },
    publicUrl: deps.publicUrl,
    shutdownGraceMs: deps.shutdownGraceMs,
    maxBodyBytes: deps.maxBodyBytes,
    pushNotifications: deps.pushNotifications,
  });
}
