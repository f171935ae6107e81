/**
 * `npm run bench:a2a`: what one A2A hop costs. Against a zero-delay mock agent (a real process), times
 * a full A2A task round trip (SendMessage -> completed, through `createA2AClient`) and, as the baseline,
 * a plain HTTP POST to the same process's `/echo` route, interleaved in one run. Reports p50/p99, the
 * A2A overhead at p50 (target: at most 3 ms on loopback) and tasks/s, sequential and with concurrency.
 *
 * Env: BENCH_A2A_ITERATIONS (default 2000), BENCH_A2A_CONCURRENCY (default 16).
 */
import { TaskState } from '@a2a-js/sdk';
import { createA2AClient } from '@ensemble/a2a/client';

import { type ServiceProcess, startService, stopAllServices } from '../test/support/processes.js';
import { testRedis } from '../test/support/redis.js';

const iterations = Number(process.env['BENCH_A2A_ITERATIONS'] ?? 2_000);
const concurrency = Number(process.env['BENCH_A2A_CONCURRENCY'] ?? 16);
const warmup = Math.min(300, Math.ceil(iterations / 5));

const ZERO_DELAY = { chunks: 1, chunkDelayMs: 0, delayMs: 0, statusUpdates: [] };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarize(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function throughput(fn: () => Promise<void>, total: number, parallel: number): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < total) {
        next += 1;
        await fn();
      }
    }),
  );
  return total / ((performance.now() - start) / 1_000);
}

async function benchAgent(label: string, agent: ServiceProcess) {
  const client = await createA2AClient({ url: agent.url, retry: false, timeoutMs: 30_000 });
  const payload = JSON.stringify({ text: 'ping' });
  const echo = async () => {
    const response = await fetch(`${agent.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    await response.json();
  };
  const a2a = async () => {
    const result = await client.send({ text: 'ping' });
    if (!('id' in result) || result.status?.state !== TaskState.TASK_STATE_COMPLETED) throw new Error('task did not complete');
  };

  for (let index = 0; index < warmup; index += 1) {
    await echo();
    await a2a();
  }
  const echoSamples: number[] = [];
  const a2aSamples: number[] = [];
  // Interleaved so both see the same machine load (two other engineers share these cores).
  for (let index = 0; index < iterations; index += 1) {
    echoSamples.push(await timed(echo));
    a2aSamples.push(await timed(a2a));
  }
  const echoStats = summarize(echoSamples);
  const a2aStats = summarize(a2aSamples);
  const concurrentTasks = await throughput(a2a, Math.max(iterations / 2, 200), concurrency);
  const concurrentEcho = await throughput(echo, Math.max(iterations / 2, 200), concurrency);
  return {
    store: label,
    iterations,
    echo_p50_ms: round(echoStats.p50),
    echo_p99_ms: round(echoStats.p99),
    a2a_p50_ms: round(a2aStats.p50),
    a2a_p99_ms: round(a2aStats.p99),
    added_p50_ms: round(a2aStats.p50 - echoStats.p50),
    added_p99_ms: round(a2aStats.p99 - echoStats.p99),
    a2a_tasks_per_s_sequential: Math.round(1_000 / a2aStats.mean),
    [`a2a_tasks_per_s_c${concurrency}`]: Math.round(concurrentTasks),
    [`echo_req_per_s_c${concurrency}`]: Math.round(concurrentEcho),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const redis = testRedis();
try {
  // Info-level logs stay on (one access line per request, one per task), as in a deployment.
  const common = { MOCK_AGENT_PRESET: 'reasoning', MOCK_AGENT_PORT: '0', MOCK_AGENT_CONFIG: JSON.stringify(ZERO_DELAY), LOG_LEVEL: 'info' };
  const memoryAgent = await startService({ name: 'bench-agent-memory', entry: 'apps/mock-agents/src/main.ts', env: { ...common, MOCK_AGENT_TASK_STORE: 'memory' } });
  const memory = await benchAgent('memory', memoryAgent);
  await memoryAgent.stop();
  const redisAgent = await startService({
    name: 'bench-agent-redis',
    entry: 'apps/mock-agents/src/main.ts',
    env: { ...common, MOCK_AGENT_TASK_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix },
  });
  const withRedis = await benchAgent('redis', redisAgent);
  await redisAgent.stop();

  console.table([memory, withRedis]);
  for (const result of [memory, withRedis]) {
    const verdict = result.added_p50_ms <= 3 ? 'within' : 'OVER';
    console.log(`${result.store}: an A2A hop adds ${result.added_p50_ms} ms at p50 (${verdict} the 3 ms target)`);
  }
  console.log(JSON.stringify({ bench: 'a2a', results: [memory, withRedis] }));
} finally {
  await stopAllServices();
  await redis.cleanup();
}
