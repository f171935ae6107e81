import { env } from '@ensemble/config';
import { z } from 'zod';

/** Default of `A2A_MAX_BODY_BYTES` (and of `createAgentService`'s `maxBodyBytes`): 4 MiB. */
export const DEFAULT_A2A_MAX_BODY_BYTES = 4 * 1024 * 1024;

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
  /**
   * Largest A2A request body every agent accepts (413 above). The one limit the whole orchestration path
   * agrees on: the gateway reads it too, and refuses up front a conversation whose A2A messages would not
   * fit (see `maxOrchestrationMessageBytes` in `@ensemble/openai-a2a`).
   */
  A2A_MAX_BODY_BYTES: env.int(DEFAULT_A2A_MAX_BODY_BYTES, 64 * 1024),
  /**
   * Accept A2A push-notification webhooks on loopback and private networks (10/8, 172.16/12, 192.168/16,
   * fc00::/7, ...). Off in production; `make up` turns it on. Link-local and cloud-metadata addresses are
   * refused regardless.
   */
  A2A_PUSH_ALLOW_PRIVATE: env.boolean(false),
  LOG_LEVEL: env.logLevel(),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.optionalUrl(),
  OTEL_EXPORTER_OTLP_PROTOCOL: env.otlpProtocol(),
});
export type AgentServiceSettings = z.infer<typeof AgentServiceSettings>;
