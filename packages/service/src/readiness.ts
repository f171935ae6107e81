import type { ReadinessCheckResult, ReadinessReport } from '@ensemble/protocol';
import type { Hono } from 'hono';

import type { ServiceEnv } from './http-app.js';

/**
 * One dependency `/ready` verifies. `check` resolves when healthy and should stop when `signal` aborts.
 * Its error message is shown to whoever probes `/ready`: name the dependency and the kind of failure,
 * never a URL or a host (a check that wraps a client error says what failed in its own words).
 */
export interface ReadinessCheck {
  name: string;
  check(signal: AbortSignal): Promise<void>;
}

export interface ReadinessOptions {
  /** What `/ready` verifies; none means ready whenever the process serves. */
  checks?: readonly ReadinessCheck[];
  /** Bound on each check. Default 2 s: a probe must answer before the orchestrator's probe times out. */
  timeoutMs?: number;
  /** A draining service is not ready, whatever its dependencies say (it is about to stop). */
  isDraining?: () => boolean;
}

const DEFAULT_TIMEOUT_MS = 2_000;

/** Runs every check in parallel, each bounded by `timeoutMs`, and reports each one by name. */
export async function runReadinessChecks(checks: readonly ReadinessCheck[], timeoutMs: number = DEFAULT_TIMEOUT_MS): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (check): Promise<[string, ReadinessCheckResult]> => {
      const started = performance.now();
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        await new Promise<void>((resolve, reject) => {
          signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true });
          check.check(signal).then(resolve, reject);
        });
        return [check.name, { status: 'ok', duration_ms: elapsed(started) }];
      } catch (error) {
        return [check.name, { status: 'fail', duration_ms: elapsed(started), error: error instanceof Error ? error.message : String(error) }];
      }
    }),
  );
  const failed = results.some(([, result]) => result.status === 'fail');
  return { status: failed ? 'not_ready' : 'ready', checks: Object.fromEntries(results) };
}

/**
 * `GET /ready` on a service's app: 200 `ready` when every check passes, 503 `not_ready` with the failing
 * checks (and a warning log line saying which) otherwise. Kubernetes readiness probes and the image's
 * health check read it; liveness stays on `/health`, which never looks at dependencies.
 */
export function mountReadiness(app: Hono<ServiceEnv>, options: ReadinessOptions = {}): void {
  const checks = options.checks ?? [];
  app.get('/ready', async (c) => {
    const report = await runReadinessChecks(checks, options.timeoutMs);
    if (options.isDraining?.() === true) {
      report.status = 'not_ready';
      report.checks['draining'] = { status: 'fail', duration_ms: 0, error: 'the service is shutting down' };
    }
    if (report.status !== 'ready') {
      const failing = Object.entries(report.checks).filter(([, result]) => result.status === 'fail');
      c.var.logger.warn({ failing: Object.fromEntries(failing) }, 'not ready');
    }
    return c.json(report, report.status === 'ready' ? 200 : 503);
  });
}

/** Redis answers PING. Takes anything with `ping()` (an ioredis client) so the service does not own the client. */
export function redisReadiness(redis: { ping(): Promise<string> }, name = 'redis'): ReadinessCheck {
  return {
    name,
    async check() {
      let reply: string;
      try {
        reply = await redis.ping();
      } catch {
        // ioredis errors name the address it tried: the probe's answer says only what failed.
        throw new Error('redis did not answer PING');
      }
      if (reply !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(reply)}`);
    },
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
