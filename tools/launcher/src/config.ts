import { env } from '@ensemble/config';
import { z } from 'zod';

/** What `make up` reads. Service ports and hosts are read by the services themselves. */
export const LauncherConfig = z.object({
  REDIS_URL: env.string('redis://127.0.0.1:6379'),
  OPENAI_BASE_URL: env.optionalUrl(),
  OPENAI_API_KEY: env.optionalString(),
  DATABASE_URL: env.optionalString(),
  /** `pretty` (default on a terminal) or `json` (raw service lines, prefixed). */
  LAUNCHER_LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  /** Where embedded state lives (local Redis, PGlite data). */
  ENSEMBLE_DATA_DIR: env.string('.data'),
  /** First port of the mock agents (one process per preset); 0 = any free port for each. */
  MOCK_AGENTS_BASE_PORT: env.port(8201),
  /** The gateway's client tokens (it reads them itself); the first goes into the printed curl example. */
  API_TOKENS: env.list(),
  /** Tokens the agents accept; the first is also what the orchestrator and gateway present. Empty: a fresh random one for the orchestrator. */
  AGENT_AUTH_TOKENS: env.list(),
  /** What the RAG agent ingests (idempotently) at start-up, so the demo has something to answer from. */
  RAG_SEED_PATHS: env.string('data/sample-corpus'),
  /**
   * Gateways and orchestrators to run (each replica's ports are the first's plus 20 per replica: 8000 and
   * 8020, 8001 and 8021). Every gateway reaches every orchestrator; any orchestrator runs any session.
   */
  REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** Where the first gateway and orchestrator listen (read here only to place the other replicas). */
  GATEWAY_PORT: env.port(8000),
  ORCHESTRATOR_PORT: env.port(8001),
  /**
   * Given to every service (`A2A_PUSH_ALLOW_PRIVATE`): A2A push-notification webhooks on localhost and
   * private networks are accepted, as a local stack needs. Default true here; false in the services.
   */
  A2A_PUSH_ALLOW_PRIVATE: env.boolean(true),
  /** How long a service may take to report healthy before the launch is abandoned. */
  LAUNCHER_START_TIMEOUT_MS: env.int(60_000, 1_000),
});
export type LauncherConfig = z.infer<typeof LauncherConfig>;
