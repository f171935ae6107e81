/**
 * `npm run bench:dag`: what orchestration costs on top of the agents' own work. DAGs of 10 and 50
 * mock-agent nodes (100 ms each, layered so the critical path is known) run through a real orchestrator
 * process; a scripted planner returns the plan, so no LLM planning is measured. Reports, per size:
 *
 * - DAG wall time (first node start -> last node end, from the orchestrator's own events) against the
 *   critical path (layers x 100 ms): efficiency = critical path / wall time (target >= 0.95), as the
 *   median over the runs with the [worst - best] spread (the machine is shared: read the spread);
 * - the floor: the same DAG run without an orchestrator, by a bare A2A client calling the same mock
 *   agent layer by layer (every node of a layer at once), in the same rounds as the orchestrated runs.
 *   Its efficiency is the best any orchestrator can reach with this A2A stack on this machine, and
 *   "orchestration ms/layer" is what the orchestrator adds to it (median over rounds of the wall-time
 *   difference, divided by the layer count);
 * - each layer split around the agent's own work, from the mock agent's `mock work done` log lines (to the
 *   microsecond): the layer's requests on their way to the agent, the agent taking them in (one after
 *   another) until it began the last one, and the caller's time after the agent finished its last node,
 *   for Ensemble and for the bare client (Ensemble's side in its event times, to the ms);
 * - per-node overhead: each node's start -> completion minus the agent's 100 ms (A2A call, persistence,
 *   events), p50 and p99, with the bare A2A call's own overhead beside it;
 * - end-to-end time of the request (session, planning call, DAG, synthesis);
 * - Redis bytes per node: `MEMORY USAGE` of the session record and node hash, taken while the answer is
 *   being written (all nodes saved, session not yet deleted), divided by the node count;
 * - with BENCH_DAG_REDIS_MONITOR=1, Redis traffic per node: commands the orchestrator sends on this run's
 *   keys and their argument bytes, over the whole workflow, divided by the node count (read with
 *   MONITOR, which slows a shared Redis down for everyone: opt-in);
 * - CPU per node, marginal (the difference between the two sizes, over the nodes between them, so what a
 *   run costs whatever its size drops out): the orchestrator process for Ensemble, this process for the
 *   in-process contenders, the agent serving each, Redis (when it runs on this machine) and Ensemble's
 *   client; their sum is what a node costs the machine's shared cores.
 *
 * With `--peers` (after `npm run bench:peers`), LangGraph.js and Mastra workflows run the same DAG of the
 * same A2A calls (official `@a2a-js/sdk` client, see dag-peers.ts) in the same rounds, and the bench prints
 * issue 15's targets with PASS/FAIL: Ensemble's median efficiency >= the best of LangGraph and Mastra, and
 * >= 0.98 x the bare client's.
 *
 * `BENCH_BASE_DIR=/path/to/other/checkout` (with its own `npm ci`) adds that checkout's orchestrator as
 * `Ensemble (base)`, a contender in the same rounds, for A/B comparisons of two builds in one run: the
 * efficiency, CPU per node and per run of both, and this build's efficiency over the base's.
 *
 * Env: BENCH_DAG_RUNS (default 5 per size), BENCH_DAG_REDIS_MONITOR (default off), BENCH_BASE_DIR.
 */
import { TaskState } from '@a2a-js/sdk';
import type { ReasoningEvent } from '@ensemble/protocol';
import { type TurnTranscript, orchestratorClient, plan, planNode, startScriptedPlanner } from '@ensemble/workflow/testing/harness';
import type { Redis } from 'ioredis';
import { startMockAgent, startOrchestrator } from '../test/support/services.js';

import { type ServiceProcess, cpuTimeMs, parseJsonLine, startService, stopAllServices } from '../test/support/processes.js';
import { testRedis } from '../test/support/redis.js';
import { type AgentWork, type DagRunner, type DagTiming, type LayerPhases, bareRunner, langGraphRunner, layerIds, layerPhases, layerTimeline, mastraRunner, officialClient } from './dag-peers.js';

const runs = Number(process.env['BENCH_DAG_RUNS'] ?? 5);
const monitorRedis = process.env['BENCH_DAG_REDIS_MONITOR'] === '1';
const PEERS = process.argv.includes('--peers');
const NODE_MS = 100;
const TOKEN = 'bench-token';
const ENSEMBLE = 'Ensemble orchestrator (durable)';
const BASE = 'Ensemble (base)';
const BASE_DIR = process.env['BENCH_BASE_DIR'] === '' ? undefined : process.env['BENCH_BASE_DIR'];
const SIZES = [
  { nodes: 10, layers: 5 },
  { nodes: 50, layers: 10 },
];

/** `layers` layers of `nodes / layers` nodes; every node depends on the whole previous layer. */
function layeredPlan(nodes: number, layers: number) {
  const width = nodes / layers;
  return plan(
    ...Array.from({ length: layers }, (_, layer) =>
      layerIds(width, layer).map((id) => planNode(id, 'worker', `work ${id}`, { dependsOn: layer === 0 ? [] : layerIds(width, layer - 1) })),
    ).flat(),
  );
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const median = (values: number[]) => percentile(values, 50);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
const PHASE_LABELS: Record<keyof LayerPhases, string> = { toAgent: 'to the agent', intake: 'agent intake', after: 'after the agent' };

/** "median [worst-best]" of efficiencies for the given wall times. */
function efficiency(critical: number, walls: number[]): string {
  return `${round(critical / median(walls), 3)} [${round(critical / Math.max(...walls), 3)}-${round(critical / Math.min(...walls), 3)}]`;
}

interface RunResult {
  total: number;
  dag: number;
  overheads: number[];
  completed: number;
  /** Per layer: first node started -> last node completed, minus the agent's NODE_MS. */
  layerSpans: number[];
  /** Per layer after the first: last node of the previous layer completed -> first node of this one started. */
  handoffs: number[];
  /** Per layer, around the agent's own work: see `layerPhases`. */
  phases: LayerPhases;
  cpu: CpuSpent;
  bytes: { session: number; nodes: number } | undefined;
  traffic: { commands: number; bytes: number } | undefined;
}

/**
 * The agent's own work times of the nodes it ran since its log line `from` (node id -> times), once all
 * `expected` lines are in: a line can arrive after the caller saw the node finish.
 */
async function agentWorkSince(agent: ServiceProcess, from: number, expected: number): Promise<Map<string, AgentWork>> {
  // Each line is read once: the waiter's predicate runs for every line the agent has ever logged.
  const work: Record<string, unknown>[] = [];
  let next = from;
  const caughtUp = () => {
    for (; next < agent.lines.length; next += 1) {
      const line = parseJsonLine(agent.lines[next]!);
      if (line?.['msg'] === 'mock work done') work.push(line);
    }
    return work.length >= expected;
  };
  if (!caughtUp()) await agent.waitForLine(caughtUp);
  return new Map(work.map((line) => [String(line['input']).replace(/^work /, ''), { received: Number(line['received_at']), started: Number(line['work_started_at']), done: Number(line['work_done_at']) }]));
}

/**
 * CPU (ms) one run took, by process: the caller's (the orchestrator process, or this process for an
 * in-process contender), the agent's, Redis's (Ensemble's node records, event log and task; the mock agent
 * keeps its tasks in memory), and the client's (for Ensemble this process, reading the orchestrator's
 * progress stream; 0 for an in-process contender, whose client is its caller).
 */
interface CpuSpent {
  caller: number;
  agent: number;
  redis: number;
  client: number;
}

/** One run's CPU and the size of its DAG (CPU per node is read off the difference between sizes). */
type CpuRun = CpuSpent & { nodes: number };

/** This process's CPU time so far (user + system, ms): in-process contenders run their engine here. */
const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const redis = testRedis();
const redisPid = await localRedisPid(redis);
/** Redis's CPU time so far (ms); NaN when it is not a process of this machine. */
const redisCpuMs = () => cpuTimeMs(redisPid);
const planner = await startScriptedPlanner();
/** Commands (and argument bytes) sent on this run's keys, from MONITOR; script-internal commands excluded. */
const traffic = { commands: 0, bytes: 0 };
const monitor = monitorRedis ? await redis.redis.monitor() : undefined;
monitor?.on('monitor', (_time: string, args: string[], source: string) => {
  // Our own MEMORY USAGE probes are not the orchestrator's traffic.
  if (source === 'lua' || args[0]?.toLowerCase() === 'memory' || !args.some((arg) => arg.startsWith(redis.prefix))) return;
  traffic.commands += 1;
  traffic.bytes += args.reduce((sum, arg) => sum + Buffer.byteLength(arg), 0);
});
try {
  const [llm, worker] = await Promise.all([
    // A slow first token keeps the session in Redis long enough to be measured before it is deleted.
    startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0', SIM_LLM_TTFT_MS: '300' } }),
    startMockAgent({ name: 'worker', delayMs: NODE_MS, reply: 'ok {{input}}' }),
  ]);
  const orchestratorEnv = {
    agentUrls: [planner.url, worker.url],
    redisUrl: redis.url,
    prefix: redis.prefix,
    llmUrl: llm.url,
    token: TOKEN,
    extra: { ORCHESTRATOR_MAX_CONCURRENCY: '16', ORCHESTRATOR_RESUME_SCAN_MS: '0' },
  };
  const orchestrator = await startOrchestrator('orchestrator', orchestratorEnv);
  const client = await orchestratorClient(orchestrator.url, TOKEN);
  /** The base build's orchestrator (`BENCH_BASE_DIR`), under keys of its own. */
  const basePrefix = `${redis.prefix}base:`;
  const base =
    BASE_DIR === undefined
      ? undefined
      : await startOrchestrator('orchestrator-base', { ...orchestratorEnv, prefix: basePrefix, checkout: BASE_DIR }).then(async (service) => ({
          service,
          client: await orchestratorClient(service.url, TOKEN),
          prefix: basePrefix,
        }));
  const sdkClient = await officialClient(worker.url);
  /** The contenders beside the orchestrator, each timing the same DAG in this process. */
  const contenders: { name: string; run: DagRunner }[] = [{ name: 'bare A2A', run: bareRunner(sdkClient) }];
  if (PEERS) contenders.push({ name: 'LangGraph.js', run: await langGraphRunner(sdkClient) }, { name: 'Mastra', run: await mastraRunner(sdkClient) });

  /** An orchestrator under test: this build's, or the base's. */
  const current = { service: orchestrator, client, prefix: redis.prefix };
  const runOnce = async (tag: string, { service, client: caller, prefix }: typeof current = current): Promise<RunResult> => {
    const timed: ReasoningEvent[] = [];
    let bytes: Promise<{ session: number; nodes: number }> | undefined;
    const trafficBefore = { ...traffic };
    const workFrom = worker.lines.length;
    const cpuBefore = { caller: cpuTimeMs(service.pid), agent: cpuTimeMs(worker.pid), redis: redisCpuMs(), client: ownCpuMs() };
    const started = performance.now();
    const turn: TurnTranscript = await caller.send({ text: `[${tag}] benchmark` }, (transcript, event) => {
      const last = transcript.events.at(-1);
      if (event.kind !== 'status' || last === undefined || timed.at(-1) === last) return;
      timed.push(last);
      if (last.type === 'synthesis' && bytes === undefined) {
        const key = `${prefix}session:${transcript.sessionId!}`;
        bytes = Promise.all([redis.redis.memory('USAGE', key), redis.redis.memory('USAGE', `${key}:nodes`)]).then(([session, nodes]) => ({ session: session ?? 0, nodes: nodes ?? 0 }));
      }
    });
    const total = performance.now() - started;
    const cpu: CpuSpent = {
      caller: cpuTimeMs(service.pid) - cpuBefore.caller,
      agent: cpuTimeMs(worker.pid) - cpuBefore.agent,
      redis: redisCpuMs() - cpuBefore.redis,
      client: ownCpuMs() - cpuBefore.client,
    };
    if (turn.finalState !== TaskState.TASK_STATE_COMPLETED) throw new Error(`run ${tag} ended in state ${turn.finalState}: ${turn.finalText}`);
    // MONITOR lines arrive on their own connection; a ping on the monitored server orders us after them.
    if (monitor !== undefined) await redis.redis.ping();
    const starts = new Map<string, number>();
    const completions = new Map<string, number>();
    const durations: number[] = [];
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for (const event of timed) {
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
        completions.set(event.node, at);
        last = Math.max(last, at);
      }
    }
    // Where the layer's milliseconds go. `node_started` is emitted once the node's "running" record is
    // handed to the writer, right before the A2A call; `node_completed` once its result is saved (engine.#record).
    const { layerSpans, handoffs } = layerTimeline(starts, completions, NODE_MS);
    const phases = layerPhases(starts, completions, await agentWorkSince(worker, workFrom, durations.length));
    return {
      total,
      dag: last - first,
      overheads: durations.map((duration) => duration - NODE_MS),
      completed: durations.length,
      layerSpans,
      handoffs,
      phases,
      cpu,
      bytes: await bytes,
      traffic: monitor === undefined ? undefined : { commands: traffic.commands - trafficBefore.commands, bytes: traffic.bytes - trafficBefore.bytes },
    };
  };

  planner.scripts.set('warmup', { plan: layeredPlan(10, 5) });
  await runOnce('warmup');
  if (base !== undefined) await runOnce('warmup', base);
  for (const contender of contenders) await contender.run({ layers: 5, width: 2 });

  const rows: Record<string, unknown>[] = [];
  const breakdown: Record<string, unknown>[] = [];
  const sideBySide: Record<string, Record<string, string>> = {};
  const verdicts: string[] = [];
  /** Every run's CPU, by contender (Ensemble's orchestrator under `ENSEMBLE`). */
  const cpuRuns = new Map<string, CpuRun[]>([ENSEMBLE, ...(base === undefined ? [] : [BASE]), ...contenders.map((contender) => contender.name)].map((name) => [name, []]));
  const baseVerdicts: string[] = [];
  for (const size of SIZES) {
    const tag = `dag${size.nodes}`;
    const dag = { layers: size.layers, width: size.nodes / size.layers };
    planner.scripts.set(tag, { plan: layeredPlan(size.nodes, size.layers) });
    const results: RunResult[] = [];
    const timings = new Map<string, DagTiming[]>(contenders.map((contender) => [contender.name, []]));
    // Interleaved, the order rotating each round, so every contender sees the same machine load.
    const barePhases: LayerPhases[] = [];
    const runContender = async (contender: { name: string; run: DagRunner }) => {
      const workFrom = worker.lines.length;
      const cpuBefore = { caller: ownCpuMs(), agent: cpuTimeMs(worker.pid), redis: redisCpuMs() };
      const timing = await contender.run(dag);
      cpuRuns.get(contender.name)!.push({
        nodes: size.nodes,
        caller: ownCpuMs() - cpuBefore.caller,
        agent: cpuTimeMs(worker.pid) - cpuBefore.agent,
        redis: redisCpuMs() - cpuBefore.redis,
        client: 0,
      });
      timings.get(contender.name)!.push(timing);
      if (contender.name !== 'bare A2A') return;
      const sent = new Map([...timing.nodes].map(([id, times]) => [id, times.sent]));
      const done = new Map([...timing.nodes].map(([id, times]) => [id, times.done]));
      barePhases.push(layerPhases(sent, done, await agentWorkSince(worker, workFrom, timing.nodes.size)));
    };
    const baseResults: RunResult[] = [];
    const entrants = [
      { name: ENSEMBLE, run: async () => void results.push(await runOnce(tag)) },
      ...(base === undefined ? [] : [{ name: BASE, run: async () => void baseResults.push(await runOnce(tag, base)) }]),
      ...contenders.map((contender) => ({ name: contender.name, run: () => runContender(contender) })),
    ];
    for (let run = 0; run < runs; run += 1) {
      for (let turn = 0; turn < entrants.length; turn += 1) await entrants[(run + turn) % entrants.length]!.run();
    }
    if ([...results, ...baseResults].some((result) => result.completed !== size.nodes)) throw new Error(`not every node completed in ${tag}`);
    cpuRuns.get(ENSEMBLE)!.push(...results.map((result) => ({ nodes: size.nodes, ...result.cpu })));
    cpuRuns.get(BASE)?.push(...baseResults.map((result) => ({ nodes: size.nodes, ...result.cpu })));
    const critical = size.layers * NODE_MS;
    const walls = results.map((result) => result.dag);
    const column = `${size.nodes} nodes`;
    if (PEERS || base !== undefined) (sideBySide[ENSEMBLE] ??= {})[column] = efficiency(critical, walls);
    if (base !== undefined) {
      const baseWalls = baseResults.map((result) => result.dag);
      (sideBySide[BASE] ??= {})[column] = efficiency(critical, baseWalls);
      baseVerdicts.push(
        `  ${column}: efficiency ${(critical / median(walls)).toFixed(3)} vs base ${(critical / median(baseWalls)).toFixed(3)} (ratio ${(median(baseWalls) / median(walls)).toFixed(3)}); ` +
          `end-to-end ${round(median(results.map((result) => result.total)))} vs ${round(median(baseResults.map((result) => result.total)))} ms`,
      );
    }
    const bares = timings.get('bare A2A')!;
    const bareWalls = bares.map((timing) => timing.wall);
    const overheads = results.flatMap((result) => result.overheads);
    const bareOverheads = bares.flatMap((timing) => [...timing.nodes.values()].map((times) => times.done - times.sent - NODE_MS));
    const bytes = results.find((result) => result.bytes !== undefined)?.bytes;
    const traffics = results.flatMap((result) => (result.traffic === undefined ? [] : [result.traffic]));
    rows.push({
      nodes: size.nodes,
      layers: size.layers,
      'critical path ms': critical,
      'DAG wall ms': round(median(walls)),
      efficiency: efficiency(critical, walls),
      'bare A2A efficiency': efficiency(critical, bareWalls),
      'orchestration ms/layer': round(median(results.map((result, index) => result.dag - (bareWalls[index] ?? Number.NaN))) / size.layers),
      'node overhead p50/p99 ms': `${round(percentile(overheads, 50))} / ${round(percentile(overheads, 99))}`,
      'bare A2A call p50/p99 ms': `${round(percentile(bareOverheads, 50))} / ${round(percentile(bareOverheads, 99))}`,
      'end-to-end ms': round(median(results.map((result) => result.total))),
      'session bytes/node': bytes === undefined ? 'n/a' : round((bytes.session + bytes.nodes) / size.nodes),
      'node hash bytes/node': bytes === undefined ? 'n/a' : round(bytes.nodes / size.nodes),
      ...(traffics.length === 0
        ? {}
        : {
            'redis cmds/node': round(median(traffics.map((entry) => entry.commands)) / size.nodes),
            'redis bytes sent/node': round(median(traffics.map((entry) => entry.bytes)) / size.nodes),
          }),
    });
    const perLayer = (result: RunResult) => (result.dag - size.layers * NODE_MS) / size.layers;
    breakdown.push({
      nodes: size.nodes,
      'Ensemble ms/layer over 100': round(median(results.map(perLayer))),
      'bare A2A ms/layer over 100': round(median(bareWalls) / size.layers - NODE_MS),
      'node start->done over 100 (p50)': round(percentile(overheads, 50)),
      'of which: bare A2A call over 100 (p50)': round(percentile(bareOverheads, 50)),
      'layer span over 100 (median)': round(median(results.flatMap((result) => result.layerSpans))),
      'handoff: deps done -> dependent started (median)': round(median(results.flatMap((result) => result.handoffs))),
      ...Object.fromEntries(
        (['toAgent', 'intake', 'after'] as const).map((phase) => [
          `${PHASE_LABELS[phase]}: Ensemble / bare (median)`,
          `${round(median(results.flatMap((result) => result.phases[phase])))} / ${round(median(barePhases.flatMap((phases) => phases[phase])))}`,
        ]),
      ),
    });
    if (PEERS) {
      const ensemble = critical / median(walls);
      const efficiencies = new Map(contenders.map((contender) => [contender.name, critical / median(timings.get(contender.name)!.map((timing) => timing.wall))]));
      for (const contender of contenders) (sideBySide[contender.name] ??= {})[column] = efficiency(critical, timings.get(contender.name)!.map((timing) => timing.wall));
      const bestPeer = Math.max(efficiencies.get('LangGraph.js')!, efficiencies.get('Mastra')!);
      const bare = efficiencies.get('bare A2A')!;
      verdicts.push(
        `  ${column}: efficiency ${ensemble.toFixed(3)} >= best of LangGraph/Mastra ${bestPeer.toFixed(3)} (ratio ${(ensemble / bestPeer).toFixed(3)})  ${verdict(ensemble >= bestPeer)}`,
        `  ${column}: efficiency ${ensemble.toFixed(3)} >= 0.98 x bare A2A ${bare.toFixed(3)} (ratio ${(ensemble / bare).toFixed(3)})  ${verdict(ensemble >= 0.98 * bare)}`,
      );
    }
  }
  console.log(
    `\nDAG orchestration benchmark (${runs} runs per size; median [worst-best]; mock agent ${NODE_MS} ms per node; critical path = layers x ${NODE_MS} ms; bare A2A = same DAG and agent, official A2A client, no orchestrator)`,
  );
  console.table(rows);
  console.log(
    '\nWhere the per-layer ms go (Ensemble, from its own node events: node_started = "running" record queued (written behind), A2A call next; node_completed = result saved).\n' +
      'node start->done = A2A call + result read + result saved; layer span = the slowest node of the layer; handoff = revise + schedule;\n' +
      'to the agent = first node of the layer sent -> the agent took in the first of its requests; agent intake = that -> the agent began the work of the last one;\n' +
      'after the agent = the agent finished its last one -> the layer done (Ensemble: saved)',
  );
  console.table(breakdown);
  // Per node without what every run costs whatever its size (planning and synthesis for Ensemble, set-up
  // for all): the difference between the median runs of the two sizes, over the nodes between them.
  const [small, large] = SIZES as [(typeof SIZES)[number], (typeof SIZES)[number]];
  const medianAt = (entries: CpuRun[], side: keyof CpuSpent, nodes: number) => median(entries.filter((entry) => entry.nodes === nodes).map((entry) => entry[side]));
  const perNode = (entries: CpuRun[], side: keyof CpuSpent) => round((medianAt(entries, side, large.nodes) - medianAt(entries, side, small.nodes)) / (large.nodes - small.nodes), 2);
  // What a run costs whatever its size: the small run less its nodes at the marginal rate.
  const perRun = (entries: CpuRun[]) => Math.round(medianAt(entries, 'caller', small.nodes) - small.nodes * perNode(entries, 'caller'));
  console.log(
    `\nCPU per node, ms (median ${large.nodes}-node run minus median ${small.nodes}-node run, over the ${large.nodes - small.nodes} nodes between them; from /proc and process.cpuUsage, Linux):\n` +
      'caller = the orchestrator process for Ensemble (durable writes, event log, its own A2A task), this process for the in-process contenders\n' +
      '(which also reads the agent\'s few log lines per node, a small cost against them); agent = the mock agent serving the calls;\n' +
      'redis = the Redis server (n/a when it is not on this machine); client = this process reading Ensemble\'s progress stream (and the agent\'s log lines);\n' +
      'all = the four together: what a node costs the shared cores; caller CPU ms/run = what a run costs whatever its size (Ensemble: session, planning call, synthesis streamed to the client)',
  );
  const shown = (value: number) => (Number.isNaN(value) ? 'n/a' : value);
  console.table(
    Object.fromEntries(
      [...cpuRuns].map(([name, entries]) => {
        const sides = { caller: perNode(entries, 'caller'), agent: perNode(entries, 'agent'), redis: perNode(entries, 'redis'), client: perNode(entries, 'client') };
        const all = round(sides.caller + sides.agent + sides.redis + sides.client, 2);
        return [
          name,
          {
            'caller CPU ms/node': sides.caller,
            'agent CPU ms/node': sides.agent,
            'redis CPU ms/node': shown(sides.redis),
            'client CPU ms/node': sides.client,
            'all CPU ms/node': shown(all),
            'caller CPU ms/run': perRun(entries),
          },
        ];
      }),
    ),
  );
  if (PEERS || base !== undefined) {
    console.log('\nEfficiency (critical path / DAG wall), same DAGs, same A2A calls, interleaved rounds: median [worst-best]');
    console.table(sideBySide);
  }
  if (base !== undefined) {
    console.log(`This build against the base (${BASE_DIR}), same rounds:`);
    for (const line of baseVerdicts) console.log(line);
  }
  if (PEERS) {
    console.log('Targets (issue 15), on the medians of this run:');
    for (const line of verdicts) console.log(line);
  }
} finally {
  monitor?.disconnect();
  await stopAllServices();
  await planner.stop();
  await redis.cleanup();
}

/**
 * The pid of the Redis server the benchmark uses, when it runs on this machine (a loopback URL): its CPU
 * is read from `/proc` like every other process's. Undefined for a remote Redis, whose pid means nothing here.
 */
async function localRedisPid(server: { url: string; redis: Redis }): Promise<number | undefined> {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(server.url).hostname)) return undefined;
  const pid = /^process_id:(\d+)/m.exec(await server.redis.info('server'))?.[1];
  return pid === undefined ? undefined : Number(pid);
}
