/**
 * `npm run chaos`: workflows under fire. N streamed workflows (a -> (b, c) -> d over two mock agents,
 * 1.2 s per task) run through two gateways and two orchestrators over one Redis while a scheduler
 * SIGKILLs a random service every few seconds (a gateway, an orchestrator, or an agent) and starts it
 * again on the same port a moment later; at least one replica of the gateway and of the orchestrator
 * is up at any time. Each client does what the README tells one to: when its stream is cut, it re-sends
 * on the other gateway with `X-Session-ID` and `Last-Event-ID`. Prints:
 *
 * - completed / failed cleanly (an OpenAI error object) / lost (no ending within the deadline: must be 0);
 * - duplicate agent executions: a node's agent task run again in the same session although its first
 *   run had finished, or its agent survived (must be 0); re-runs of tasks cut by their agent's own death
 *   are counted apart, and so are requests re-sent before any answer named their session (the
 *   orchestrator cannot tell those from new requests: they run as new sessions);
 * - takeover: from an orchestrator's kill to another one resuming each of its sessions, p50 / max;
 * - client-visible gap: from a cut stream to the next event on the re-sent request, p50 / max;
 * - events seen twice or out of order by a client (SSE ids are log positions): must be 0.
 *
 * Not a test: it kills processes on a timer. Exit code 1 when something was lost or run twice.
 * Env: CHAOS_WORKFLOWS (24), CHAOS_CONCURRENCY (4), CHAOS_KILL_EVERY_MS (2500), CHAOS_RESTART_AFTER_MS
 * (1000), CHAOS_SEED (1), CHAOS_DEADLINE_MS (120000 per workflow), CHAOS_DEBUG=1 (prints each agent task
 * run twice, the orchestrators' recovery log lines and their kill times).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { SseDecoder } from '@ensemble/service';
import { plan, planNode } from '@ensemble/workflow/testing/harness';

import { seededRandom } from '../test/e2e/support/fuzz-cases.js';
import { startOrchestrator } from '../test/support/services.js';
import { pinPlanInSimLlm } from '../test/e2e/support/stack.js';
import { type ServiceProcess, startService, stopAllServices } from '../test/support/processes.js';
import { testRedis } from '../test/support/redis.js';

const WORKFLOWS = Number(process.env['CHAOS_WORKFLOWS'] ?? 24);
const CONCURRENCY = Number(process.env['CHAOS_CONCURRENCY'] ?? 4);
const KILL_EVERY_MS = Number(process.env['CHAOS_KILL_EVERY_MS'] ?? 2_500);
const RESTART_AFTER_MS = Number(process.env['CHAOS_RESTART_AFTER_MS'] ?? 1_000);
const DEADLINE_MS = Number(process.env['CHAOS_DEADLINE_MS'] ?? 120_000);
const TASK_MS = 1_200;
const TOKEN = 'chaos-client';
const AGENT_TOKEN = 'chaos-internal';
const TAG = '[chaos]';

// Seeded, so a run's kill schedule can be repeated.
const random = seededRandom(Number(process.env['CHAOS_SEED'] ?? 1));

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : `${Math.round(value)} ms`);

/** One service that the scheduler may kill: every process it has been (the logs of dead ones are kept). */
interface Slot {
  name: string;
  group: string;
  port: string;
  processes: ServiceProcess[];
  up: boolean;
  kills: number[];
  start(port: string): Promise<ServiceProcess>;
}

async function slot(name: string, group: string, start: (port: string) => Promise<ServiceProcess>): Promise<Slot> {
  const first = await start('0');
  return { name, group, port: new URL(first.url).port, processes: [first], up: true, kills: [], start };
}

const current = (service: Slot): ServiceProcess => service.processes.at(-1)!;

async function main(): Promise<void> {
  const redis = testRedis();
  const shared = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, LOG_LEVEL: 'info' };
  const sim = await startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } });
  const llm = { OPENAI_BASE_URL: `${sim.url}/v1`, OPENAI_API_KEY: 'chaos' };

  const agent = (name: string) =>
    slot(name, name, (port) =>
      startService({
        name: `mock-${name}`,
        entry: 'apps/mock-agents/src/main.ts',
        env: {
          ...shared,
          MOCK_AGENT_PORT: port,
          // Tasks in Redis: a restarted agent still knows the tasks it had, and a caller can look them up.
          MOCK_AGENT_TASK_STORE: 'redis',
          AGENT_AUTH_TOKENS: AGENT_TOKEN,
          MOCK_AGENT_CONFIG: JSON.stringify({
            name,
            description: `Chaos worker ${name}`,
            skills: [{ id: `${name}-work`, name, description: `Does ${name} work`, tags: ['chaos'], examples: [] }],
            reply: `${name} did: {{input}}`,
            delayMs: TASK_MS,
          }),
        },
      }),
    );
  const agents = [await agent('alpha'), await agent('beta')];
  const agentUrls = agents.map((service) => current(service).url);
  const planner = await startService({
    name: 'planning-agent',
    entry: 'apps/planning-agent/src/main.ts',
    env: { ...shared, ...llm, PLANNING_AGENT_PORT: '0', AGENT_URLS: agentUrls.join(','), AGENT_AUTH_TOKENS: AGENT_TOKEN },
  });
  // Inputs carry the request (unique per workflow), so each node's agent work can be told apart. Each
  // node may be tried three times, as the planner's plans allow: a task cut by its agent's death is re-run.
  const retry = { retry: { maxAttempts: 3, backoffMs: 500 } };
  await pinPlanInSimLlm(
    sim.url,
    plan(
      planNode('a', 'alpha', 'A for {{request}}', retry),
      planNode('b', 'beta', 'B after {{nodes.a.output}}', { ...retry, dependsOn: ['a'] }),
      planNode('c', 'alpha', 'C after {{nodes.a.output}}', { ...retry, dependsOn: ['a'] }),
      planNode('d', 'beta', 'D from {{nodes.b.output}} and {{nodes.c.output}}', { ...retry, dependsOn: ['b', 'c'] }),
    ),
    { contains: TAG },
  );

  const orchestrators = await Promise.all(
    [1, 2].map((index) =>
      slot(`orchestrator-${index}`, 'orchestrator', (port) =>
        startOrchestrator(`orchestrator-${index}`, {
          agentUrls: [planner.url, ...agentUrls],
          redisUrl: redis.url,
          prefix: redis.prefix,
          llmUrl: sim.url,
          token: AGENT_TOKEN,
          extra: { AGENT_CLIENT_TOKEN: AGENT_TOKEN, ORCHESTRATOR_PORT: port },
        }),
      ),
    ),
  );
  const orchestratorUrls = orchestrators.map((service) => current(service).url).join(',');
  const gateways = await Promise.all(
    [1, 2].map((index) =>
      slot(`gateway-${index}`, 'gateway', (port) =>
        startService({
          name: `gateway-${index}`,
          entry: 'apps/gateway/src/main.ts',
          env: { ...shared, ...llm, GATEWAY_PORT: port, API_TOKENS: TOKEN, ORCHESTRATOR_URL: orchestratorUrls, AGENT_CLIENT_TOKEN: AGENT_TOKEN, AGENT_URLS: [planner.url, ...agentUrls].join(',') },
        }),
      ),
    ),
  );
  const killable = [...gateways, ...orchestrators, ...agents];

  // The scheduler: a random service every KILL_EVERY_MS (never the last replica up of its group).
  let running = true;
  const restarts: Promise<void>[] = [];
  const done = new AbortController();
  const scheduler = (async () => {
    while (running) {
      await sleep(KILL_EVERY_MS, undefined, { signal: done.signal }).catch(() => undefined);
      if (!running) break;
      const replicated = (service: Slot) => service.group === 'gateway' || service.group === 'orchestrator';
      const candidates = killable.filter((service) => service.up && (!replicated(service) || killable.some((other) => other !== service && other.group === service.group && other.up)));
      const victim = candidates[Math.floor(random() * candidates.length)];
      if (victim === undefined) continue;
      victim.up = false;
      victim.kills.push(Date.now());
      await current(victim).kill();
      restarts.push(
        (async () => {
          await sleep(RESTART_AFTER_MS);
          victim.processes.push(await victim.start(victim.port));
          victim.up = true;
        })(),
      );
    }
  })();

  const started = Date.now();
  const outcomes: WorkflowOutcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < WORKFLOWS) {
        const index = next++;
        outcomes.push(await runWorkflow(index, gateways));
      }
    }),
  );
  running = false;
  done.abort();
  await scheduler;
  await Promise.allSettled(restarts);
  const elapsed = Date.now() - started;

  report({ outcomes, agents, orchestrators, gateways, elapsed });
  if (process.env['CHAOS_DEBUG'] === '1') {
    for (const service of orchestrators) for (const proc of service.processes) for (const line of proc.lines) if (/reconnecting|no longer knows|orphaned|taken up|agent not reachable|retrying/.test(line)) console.log(service.name, line.slice(0, 400));
    for (const service of orchestrators) console.log(service.name, 'killed at', service.kills.map((at) => new Date(at).toISOString()).join(' '));
  }
  if (process.env['CHAOS_DEBUG'] === '1') {
    for (const service of agents) {
      service.processes.forEach((proc, index) => {
        const lines = linesOf(proc);
        const starts = lines.filter((line) => line['msg'] === 'mock task started').map((line) => String(line['input']).slice(0, 60));
        console.log(service.name, index, 'starts', starts.length, 'finished', lines.filter((line) => line['msg'] === 'task finished').length);
        for (const start of starts) console.log('   ', start);
      });
    }
  }
  await stopAllServices();
  await redis.cleanup();
  const lost = outcomes.filter((outcome) => outcome.kind === 'lost').length;
  if (lost > 0 || duplicateExecutions(agents).finished > 0) process.exitCode = 1;
}

type WorkflowOutcome = {
  kind: 'completed' | 'failed' | 'lost';
  detail: string;
  /** Completed, but answered around nodes that failed (the synthesis said what is missing). */
  degraded: boolean;
  gaps: number[];
  misordered: number;
  resends: number;
  /** Re-sent before any answer named its session: the orchestrator then ran it as a new session. */
  resubmitted: number;
};

/** One client: streams the request, and on a cut re-sends it on the other gateway from its last event id. */
async function runWorkflow(index: number, gateways: readonly Slot[]): Promise<WorkflowOutcome> {
  const body = JSON.stringify({ model: 'ensemble', stream: true, messages: [{ role: 'user', content: `${TAG} workflow ${index} at ${Date.now()}` }] });
  const deadline = Date.now() + DEADLINE_MS;
  let sessionId: string | undefined;
  let lastId: number | undefined;
  let cutAt: number | undefined;
  let gateway = index % gateways.length;
  const outcome: WorkflowOutcome = { kind: 'lost', detail: 'no ending before the deadline', degraded: false, gaps: [], misordered: 0, resends: 0, resubmitted: 0 };
  while (Date.now() < deadline) {
    const target = gateways[gateway]!;
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-routing-mode': 'orchestration' };
      if (sessionId !== undefined) headers['x-session-id'] = sessionId;
      if (lastId !== undefined) headers['last-event-id'] = String(lastId);
      const response = await fetch(`${current(target).url}/v1/chat/completions`, { method: 'POST', headers, body, signal: AbortSignal.timeout(60_000) });
      sessionId ??= response.headers.get('x-session-id') ?? undefined;
      if (!response.ok) {
        const error = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        // Busy (the session's run is being taken over) or unavailable: try again; anything else is an answer.
        if (response.status !== 409 && response.status < 500) return { ...outcome, kind: 'failed', detail: `${response.status} ${error.error?.code ?? ''}` };
        throw new Error(`retryable ${response.status}`);
      }
      const ended = await readFrames(response, (id, data) => {
        if (cutAt !== undefined) {
          outcome.gaps.push(Date.now() - cutAt);
          cutAt = undefined;
        }
        if (id !== undefined) {
          if (lastId !== undefined && id <= lastId) outcome.misordered += 1;
          lastId = id;
        }
        if (data === '[DONE]') return 'completed';
        const parsed = JSON.parse(data) as { error?: { code?: string; message?: string }; choices?: { delta?: { reasoning_event?: { type?: string; metadata?: { missing?: unknown[] } } } }[] };
        const event = parsed.choices?.[0]?.delta?.reasoning_event;
        if (event?.type === 'synthesis' && (event.metadata?.missing?.length ?? 0) > 0) outcome.degraded = true;
        if (parsed.error !== undefined) return parsed.error.code === 'orchestrator_disconnected' ? 'cut' : `failed: ${parsed.error.code ?? 'error'} (${parsed.error.message ?? ''})`;
        return undefined;
      });
      if (ended === 'completed') return { ...outcome, kind: 'completed', detail: '' };
      if (ended !== undefined && ended !== 'cut') return { ...outcome, kind: 'failed', detail: ended };
    } catch {
      // The gateway died (connection refused or reset mid-stream): re-send below.
    }
    cutAt ??= Date.now();
    outcome.resends += 1;
    if (sessionId === undefined) outcome.resubmitted += 1;
    gateway = (gateway + 1) % gateways.length;
    await sleep(100);
  }
  return outcome;
}

/** Reads SSE frames until `onFrame` returns an ending (or the stream ends: `undefined`, a cut). */
async function readFrames(response: Response, onFrame: (id: number | undefined, data: string) => string | undefined): Promise<string | undefined> {
  const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const decoder = new SseDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return undefined;
      for (const event of decoder.push(value)) {
        if (event.data === '') continue;
        const ended = onFrame(event.id === null ? undefined : Number(event.id), event.data);
        if (ended !== undefined) return ended;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function linesOf(process: ServiceProcess): Record<string, unknown>[] {
  return process.lines.flatMap((text) => {
    try {
      return [JSON.parse(text) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/**
 * Agent work run more than once, by node input: `finished` counts re-runs of a task whose earlier run
 * finished or whose process lived on (work done twice, which must not happen); `afterAgentDeath` counts
 * re-runs of a task whose agent was killed while running it (that work was lost with the process).
 */
function duplicateExecutions(agents: readonly Slot[]): { started: number; finished: number; afterAgentDeath: number } {
  let started = 0;
  let finished = 0;
  let afterAgentDeath = 0;
  for (const service of agents) {
    const runs = new Map<string, { survived: boolean; task?: unknown; at?: unknown; process?: number }[]>();
    service.processes.forEach((process, index) => {
      const lines = linesOf(process);
      const done = new Set(lines.filter((line) => line['msg'] === 'task finished').map((line) => String(line['task_id'])));
      const killed = index < service.processes.length - 1;
      for (const line of lines.filter((entry) => entry['msg'] === 'mock task started')) {
        started += 1;
        // One node of one session: a request re-submitted without its session id is another session.
        const input = `${String(line['context_id'])} ${String(line['input'])}`;
        const list = runs.get(input) ?? [];
        list.push({ survived: done.has(String(line['task_id'])) || !killed, ...(globalThis.process.env['CHAOS_DEBUG'] === '1' ? { task: line['task_id'], at: line['time'], process: index } : {}) });
        runs.set(input, list);
      }
    });
    for (const [input, list] of runs) {
      for (const earlier of list.slice(0, -1)) {
        if (earlier.survived) {
          finished += 1;
          if (globalThis.process.env['CHAOS_DEBUG'] === '1') console.log('run twice:', service.name, input.slice(0, 80), JSON.stringify(list));
        } else afterAgentDeath += 1;
      }
    }
  }
  return { started, finished, afterAgentDeath };
}

/**
 * Takeover times: for each session an orchestrator took up after another one's kill (its resume scan,
 * or a re-sent request), the time since the latest orchestrator kill before it (first take-up per kill).
 */
function takeovers(orchestrators: readonly Slot[]): number[] {
  const kills = orchestrators.flatMap((service) => service.kills).sort((a, b) => a - b);
  const resumes = orchestrators
    .flatMap((service) =>
      service.processes.flatMap((process) =>
        linesOf(process)
          .filter((line) => line['msg'] === 'resuming orphaned session' || (line['msg'] === 'session taken up by a request' && line['status'] === 'active'))
          .map((line) => ({ at: Date.parse(String(line['time'])), session: String(line['session_id']) })),
      ),
    )
    .sort((a, b) => a.at - b.at);
  const seen = new Set<string>();
  const times: number[] = [];
  for (const resume of resumes) {
    const killedAt = kills.findLast((at) => at < resume.at);
    if (killedAt === undefined || seen.has(`${killedAt}:${resume.session}`)) continue;
    seen.add(`${killedAt}:${resume.session}`);
    times.push(resume.at - killedAt);
  }
  return times;
}

function report(run: { outcomes: WorkflowOutcome[]; agents: Slot[]; orchestrators: Slot[]; gateways: Slot[]; elapsed: number }): void {
  const count = (kind: WorkflowOutcome['kind']) => run.outcomes.filter((outcome) => outcome.kind === kind).length;
  const gaps = run.outcomes.flatMap((outcome) => outcome.gaps);
  const takeover = takeovers(run.orchestrators);
  const duplicates = duplicateExecutions(run.agents);
  const kills = [...run.gateways, ...run.orchestrators, ...run.agents].map((service) => `${service.name} ${service.kills.length}`).join(', ');
  const failures = run.outcomes.filter((outcome) => outcome.kind === 'failed').map((outcome) => outcome.detail);
  console.log(`chaos: ${run.outcomes.length} workflows (4 nodes, ${TASK_MS} ms tasks), ${CONCURRENCY} at a time, a kill every ${KILL_EVERY_MS} ms, restart after ${RESTART_AFTER_MS} ms; ${Math.round(run.elapsed / 1000)} s`);
  console.log(`kills: ${kills}`);
  const degraded = run.outcomes.filter((outcome) => outcome.kind === 'completed' && outcome.degraded).length;
  console.log(`completed ${count('completed')} (${degraded} answered around a failed node) | failed cleanly ${count('failed')}${failures.length > 0 ? ` (${[...new Set(failures)].join('; ')})` : ''} | lost ${count('lost')}`);
  console.log(`agent tasks started: ${duplicates.started} (4 nodes a workflow)`);
  console.log(`duplicate agent executions: ${duplicates.finished} (re-runs of tasks lost with their killed agent: ${duplicates.afterAgentDeath})`);
  console.log(`takeover (orchestrator kill -> session resumed elsewhere): p50 ${ms(percentile(takeover, 50))}, max ${ms(takeover.length === 0 ? Number.NaN : Math.max(...takeover))} over ${takeover.length} sessions`);
  console.log(`client-visible gap (cut -> next event after re-sending): p50 ${ms(percentile(gaps, 50))}, max ${ms(gaps.length === 0 ? Number.NaN : Math.max(...gaps))} over ${gaps.length} cuts`);
  const total = (field: 'misordered' | 'resends' | 'resubmitted') => run.outcomes.reduce((sum, outcome) => sum + outcome[field], 0);
  console.log(`events seen twice or out of order: ${total('misordered')}; re-sent requests: ${total('resends')} (${total('resubmitted')} before the gateway had named the session: each ran as a new session)`);
}

await main().catch(async (error: unknown) => {
  console.error(error);
  await stopAllServices();
  process.exitCode = 1;
});
