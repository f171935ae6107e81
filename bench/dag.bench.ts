/**
 * `npm run bench:dag`: what orchestration costs on top of the agents' own work. DAGs of 10 and 50
 * mock-agent nodes (100 ms each, layered so the critical path is known) run through a real orchestrator
 * process; a scripted planner returns the plan, so no LLM planning is measured. Reports, per size:
 *
 * - DAG wall time (first node start -> last node end, from the orchestrator's own events) against the
 *   critical path (layers x 100 ms): efficiency = critical path / wall time (target >= 0.95);
 * - per-node overhead: each node's start -> completion minus the agent's 100 ms (A2A call, persistence,
 *   events), p50 and p99;
 * - end-to-end time of the request (session, planning call, DAG, synthesis);
 * - Redis bytes per node: `MEMORY USAGE` of the session record and node hash, taken while the answer is
 *   being written (all nodes saved, session not yet deleted), divided by the node count.
 *
 * Env: BENCH_DAG_RUNS (default 3 per size; the median is reported).
 */
import { TaskState } from '@a2a-js/sdk';
import type { ReasoningEvent } from '@ensemble/protocol';

import {
  type TurnTranscript,
  orchestratorClient,
  plan,
  planNode,
  startMockAgent,
  startOrchestrator,
  startScriptedPlanner,
} from '../apps/orchestrator/src/testing/harness.js';
import { startService, stopAllServices } from '../test/support/processes.js';
import { testRedis } from '../test/support/redis.js';

const runs = Number(process.env['BENCH_DAG_RUNS'] ?? 3);
const NODE_MS = 100;
const TOKEN = 'bench-token';
const SIZES = [
  { nodes: 10, layers: 5 },
  { nodes: 50, layers: 10 },
];

/** `layers` layers of `nodes / layers` nodes; every node depends on the whole previous layer. */
function layeredPlan(nodes: number, layers: number) {
  const width = nodes / layers;
  const ids = (layer: number) => Array.from({ length: width }, (_, index) => `n${layer}-${index}`);
  return plan(...Array.from({ length: layers }, (_, layer) => ids(layer).map((id) => planNode(id, 'worker', `work ${id}`, { dependsOn: layer === 0 ? [] : ids(layer - 1) }))).flat());
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const median = (values: number[]) => percentile(values, 50);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

interface Timed {
  event: ReasoningEvent;
}

const redis = testRedis();
const planner = await startScriptedPlanner();
try {
  const [llm, worker] = await Promise.all([
    // A slow first token keeps the session in Redis long enough to be measured before it is deleted.
    startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0', SIM_LLM_TTFT_MS: '300' } }),
    startMockAgent({ name: 'worker', delayMs: NODE_MS, reply: 'ok {{input}}' }),
  ]);
  const orchestrator = await startOrchestrator('orchestrator', {
    agentUrls: [planner.url, worker.url],
    redisUrl: redis.url,
    prefix: redis.prefix,
    llmUrl: llm.url,
    token: TOKEN,
    extra: { ORCHESTRATOR_MAX_CONCURRENCY: '16', ORCHESTRATOR_RESUME_SCAN_MS: '0' },
  });
  const client = await orchestratorClient(orchestrator.url, TOKEN);

  const runOnce = async (tag: string) => {
    const timed: Timed[] = [];
    let bytes: Promise<{ session: number; nodes: number }> | undefined;
    const started = performance.now();
    const turn: TurnTranscript = await client.send({ text: `[${tag}] benchmark` }, (transcript, event) => {
      const last = transcript.events.at(-1);
      if (event.kind !== 'status' || last === undefined || timed.at(-1)?.event === last) return;
      timed.push({ event: last });
      if (last.type === 'synthesis' && bytes === undefined) {
        const key = `${redis.prefix}session:${transcript.sessionId!}`;
        bytes = Promise.all([redis.redis.memory('USAGE', key), redis.redis.memory('USAGE', `${key}:nodes`)]).then(([session, nodes]) => ({ session: session ?? 0, nodes: nodes ?? 0 }));
      }
    });
    const total = performance.now() - started;
    if (turn.finalState !== TaskState.TASK_STATE_COMPLETED) throw new Error(`run ${tag} ended in state ${turn.finalState}: ${turn.finalText}`);
    const starts = new Map<string, number>();
    const durations: number[] = [];
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for (const { event } of timed) {
      // The orchestrator's own event times (ms resolution): what the engine did, not when the stream
      // delivered it.
      const at = Date.parse(String(event.metadata?.['at']));
      if (Number.isNaN(at)) continue;
      if (event.type === 'node_started' && event.node !== undefined) {
        starts.set(event.node, at);
        first = Math.min(first, at);
      }
      if (event.type === 'node_completed' && event.node !== undefined) {
        durations.push(at - (starts.get(event.node) ?? at));
        last = Math.max(last, at);
      }
    }
    return { total, dag: last - first, overheads: durations.map((duration) => duration - NODE_MS), completed: durations.length, bytes: await bytes };
  };

  planner.scripts.set('warmup', { plan: layeredPlan(10, 5) });
  await runOnce('warmup');

  const rows: Record<string, unknown>[] = [];
  for (const size of SIZES) {
    const tag = `dag${size.nodes}`;
    planner.scripts.set(tag, { plan: layeredPlan(size.nodes, size.layers) });
    const results = [];
    for (let run = 0; run < runs; run += 1) results.push(await runOnce(tag));
    const critical = size.layers * NODE_MS;
    const dag = median(results.map((result) => result.dag));
    const overheads = results.flatMap((result) => result.overheads);
    const bytes = results.find((result) => result.bytes !== undefined)?.bytes;
    if (results.some((result) => result.completed !== size.nodes)) throw new Error(`not every node completed in ${tag}`);
    rows.push({
      nodes: size.nodes,
      layers: size.layers,
      'critical path ms': critical,
      'DAG wall ms': round(dag),
      efficiency: round(critical / dag, 3),
      'node overhead p50 ms': round(percentile(overheads, 50)),
      'node overhead p99 ms': round(percentile(overheads, 99)),
      'end-to-end ms': round(median(results.map((result) => result.total))),
      'session bytes/node': bytes === undefined ? 'n/a' : round((bytes.session + bytes.nodes) / size.nodes),
      'node hash bytes/node': bytes === undefined ? 'n/a' : round(bytes.nodes / size.nodes),
    });
  }
  console.log(`\nDAG orchestration benchmark (${runs} runs per size, median; mock agents ${NODE_MS} ms per node, critical path = layers x ${NODE_MS} ms)`);
  console.table(rows);
} finally {
  await stopAllServices();
  await planner.stop();
  await redis.cleanup();
}
