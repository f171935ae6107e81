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
  /** How long a service may take to report healthy before the launch is abandoned. */
  LAUNCHER_START_TIMEOUT_MS: env.int(60_000, 1_000),
});
export type LauncherConfig = z.infer<typeof LauncherConfig>;
