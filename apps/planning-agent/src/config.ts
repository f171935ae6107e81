import { AgentServiceSettings } from '@ensemble/a2a';
import { env } from '@ensemble/config';
import { z } from 'zod';

/** Environment of the planning agent (see the README's configuration table). */
export const PlanningAgentEnv = z.object({
  PLANNING_AGENT_HOST: env.host(),
  PLANNING_AGENT_PORT: env.port(8002),
  /** URL announced in the Agent Card when it differs from the bound address (behind a proxy). */
  PLANNING_AGENT_PUBLIC_URL: env.optionalUrl(),
  /** Base URLs of the agents plans may use (the planner and orchestrator may be listed: they are left out). */
  AGENT_URLS: env.list(),
  ...AgentServiceSettings.shape,
  OPENAI_BASE_URL: env.optionalUrl(),
  OPENAI_API_KEY: env.optionalString(),
  PLANNER_MODEL: env.string('gpt-4o-mini'),
  PLANNER_TEMPERATURE: z.coerce.number().min(0).max(2).default(0),
  PLANNER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
});
export type PlanningAgentEnv = z.infer<typeof PlanningAgentEnv>;
