import { z } from 'zod';

/** `GET /health`: the process is up and serving. Says nothing about dependencies (see readiness). */
export const HealthReport = z.object({
  status: z.literal('ok'),
  service: z.string(),
});
export type HealthReport = z.infer<typeof HealthReport>;

export const ReadinessCheckResult = z.object({
  status: z.enum(['ok', 'fail']),
  duration_ms: z.number().nonnegative(),
  /** Why the check failed; absent when it passed. */
  error: z.string().optional(),
});
export type ReadinessCheckResult = z.infer<typeof ReadinessCheckResult>;

/**
 * `GET /ready`: every dependency the service needs to answer, by name (`upstream`, `redis`, ...).
 * 200 with `ready` when all pass; 503 with `not_ready` and the failing checks otherwise.
 */
export const ReadinessReport = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), ReadinessCheckResult),
});
export type ReadinessReport = z.infer<typeof ReadinessReport>;
