import type { ReadinessCheckResult, ReadinessReport } from '@ensemble/protocol';
import { fromOpenAIError } from '@ensemble/llm';
import type OpenAI from 'openai';

/** One dependency `/ready` verifies. `check` resolves when healthy and must stop when `signal` aborts. */
export interface ReadinessCheck {
  name: string;
  check(signal: AbortSignal): Promise<void>;
}

/** Runs every check in parallel, each bounded by `timeoutMs`, and reports each one by name. */
export async function runReadinessChecks(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<ReadinessReport> {
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

/** The upstream LLM answers `GET /models` (cheap, and every OpenAI-compatible server has it). */
export function upstreamReadiness(client: OpenAI): ReadinessCheck {
  return {
    name: 'upstream',
    async check(signal) {
      try {
        await client.models.list({ signal, maxRetries: 0 });
      } catch (error) {
        throw fromOpenAIError(error, 'upstream GET /models');
      }
    },
  };
}

/** Redis answers PING. Takes anything with `ping()` (an ioredis client) so the app does not own the client. */
export function redisReadiness(redis: { ping(): Promise<string> }): ReadinessCheck {
  return {
    name: 'redis',
    async check() {
      const reply = await redis.ping();
      if (reply !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(reply)}`);
    },
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
