import { AgentServiceSettings } from '@ensemble/a2a';
import { APPROVAL_TIMEOUT_ACTIONS, ApprovalWebhookSettings, DEFAULT_APPROVAL_TIMEOUT_ACTION, requireApprovalWebhookSecret } from '@ensemble/approvals';
import { env } from '@ensemble/config';
import { z } from 'zod';

/** The orchestrator's environment variables (read by main.ts only; see the README's table). */
export const OrchestratorConfig = z.object({
  ORCHESTRATOR_HOST: env.host(),
  ORCHESTRATOR_PORT: env.port(8001),
  ORCHESTRATOR_PUBLIC_URL: env.optionalUrl(),
  AGENT_URLS: env.list(),
  ...AgentServiceSettings.shape,
  AGENT_CLIENT_TOKEN: env.optionalString(),
  OPENAI_BASE_URL: env.optionalUrl(),
  OPENAI_API_KEY: env.optionalString(),
  ORCHESTRATOR_MODEL: env.string('gpt-4o-mini'),
  ORCHESTRATOR_MAX_CONCURRENCY: env.int(8, 1),
  ORCHESTRATOR_MAX_BACKGROUND_RESUMES: env.int(4, 1),
  SESSION_TTL_SECONDS: env.int(7 * 24 * 60 * 60, 60),
  // Short and renewed every third: another replica takes a dead one's workflow over within about lease + scan.
  SESSION_LEASE_MS: env.int(3_000, 300),
  ORCHESTRATOR_RESUME_SCAN_MS: env.int(1_000),
  ORCHESTRATOR_PLANNER_TIMEOUT_MS: env.int(120_000, 1),
  ORCHESTRATOR_RESULT_TTL_SECONDS: env.int(3_600, 1),
  ORCHESTRATOR_ON_NODE_FAILURE: z.enum(['partial', 'fail']).default('partial'),
  ORCHESTRATOR_NODE_RETRY_BUDGET_MS: env.int(15_000),
  APPROVAL_TIMEOUT_SECONDS: env.int(86_400, 1),
  /** What an approval that expired undecided does: `reject` the action, `approve` it as requested, or `fail` the workflow. */
  APPROVAL_TIMEOUT_ACTION: z.enum(APPROVAL_TIMEOUT_ACTIONS).default(DEFAULT_APPROVAL_TIMEOUT_ACTION),
  /** Approval webhooks: the orchestrator sends the requests (pauses) and the decisions made by a chat turn. */
  ...ApprovalWebhookSettings.shape,
}).superRefine(requireApprovalWebhookSecret);
export type OrchestratorConfig = z.infer<typeof OrchestratorConfig>;
