import { env } from '@ensemble/config';
import { z } from 'zod';

/**
 * The variables every A2A agent service reads, with one meaning and one default everywhere. A schema
 * fragment, not a reader: each agent spreads `AgentServiceSettings.shape` into its own config schema.
 */
export const AgentServiceSettings = z.object({
  /** Bearer tokens the agent accepts (declared in its Agent Card); empty = no auth. */
  AGENT_AUTH_TOKENS: env.list(),
  REDIS_URL: env.string('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: env.string('ensemble:'),
  /** Redis TTL of an A2A task, refreshed on each save. */
  A2A_TASK_TTL_SECONDS: env.int(86_400, 1),
  /** Time running tasks get to finish on SIGTERM before they are cancelled. */
  A2A_SHUTDOWN_GRACE_MS: env.int(10_000),
  LOG_LEVEL: env.logLevel(),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.optionalUrl(),
});
export type AgentServiceSettings = z.infer<typeof AgentServiceSettings>;
