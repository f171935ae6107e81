import { type EnsembleChatCompletionChunk, reasoningEventOf } from '@ensemble/openai-a2a';
import type { ExecutionPlan, ReasoningEvent } from '@ensemble/protocol';
import { SseDecoder } from '@ensemble/service';
import OpenAI from 'openai';

import { type ServiceProcess, startService } from '../../support/processes.js';
import { testRedis } from '../../support/redis.js';
import { type MockAgentSpec, startMockAgent, startOrchestrator } from '../../support/services.js';

/**
 * The whole complex path as real processes, every one on port 0 with this file's own Redis key prefix:
 * sim-llm (the LLM), mock agents, the real planning agent (its plans pinned through sim-llm scripts),
 * the orchestrator and the gateway. Each e2e file starts one stack in `beforeAll` and stops it in
 * `afterAll` (`stack.stop()`, plus `stopAllServices()` as a safety net).
 */

export const AGENT_TOKEN = 'e2e-internal-agent-token';
export const API_TOKEN = 'sk-e2e-client';
/** A second caller: it must never see the first one's sessions. */
export const OTHER_API_TOKEN = 'sk-e2e-other-client';

/** Forces the complex path, so no test depends on the classifier's judgement. */
export const ORCHESTRATE = { 'X-Routing-Mode': 'orchestration' } as const;

export interface StackOptions {
  /** Mock agents by behaviour (`apps/mock-agents`, one process each). */
  agents: MockAgentSpec[];
  /** Extra orchestrator environment (lease length, resume scan period, ...). */
  orchestratorEnv?: Record<string, string>;
  /** Extra gateway environment (approval webhooks, ...). */
  gatewayEnv?: Record<string, string>;
}

export interface Stack {
  redis: ReturnType<typeof testRedis>;
  sim: ServiceProcess;
  agents: Record<string, ServiceProcess>;
  planner: ServiceProcess;
  orchestrator: ServiceProcess;
  gateway: ServiceProcess;
  /** An `openai` SDK client for the gateway, authenticated, without retries. */
  openai: OpenAI;
  /** Makes the planner answer `plan` for requests containing `tag` (a sim-llm script on `execution_plan`). */
  pinPlan(tag: string, plan: ExecutionPlan, options?: { times?: number; contains?: string }): Promise<void>;
  /** Starts a new orchestrator on the same port (its URL is in the gateway's configuration), with `env` added to its environment. */
  restartOrchestrator(env?: Record<string, string>): Promise<ServiceProcess>;
  /** Starts another gateway replica over the same Redis and orchestrator (stopped with the stack). */
  startGateway(env?: Record<string, string>): Promise<ServiceProcess>;
  /** `fetch` against the gateway with the client's bearer token (or another caller's). */
  request(path: string, init?: RequestInit, token?: string): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The stack the durability and resume scenarios share: two quick agents, a slow one (1.5 s per task, so
 * a crash lands while it works), and a 1 s session lease, so a killed orchestrator's session is free
 * again quickly.
 */
export function startDurableStack(): Promise<Stack> {
  return startStack({
    agents: [{ name: 'alpha' }, { name: 'beta' }, { name: 'slow', delayMs: 1_500 }],
    orchestratorEnv: { SESSION_LEASE_MS: '1000' },
  });
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const redis = testRedis();
  const shared = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, LOG_LEVEL: 'info' };
  const [sim, ...mocks] = await Promise.all([
    startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } }),
    ...options.agents.map((spec) => startMockAgent(spec)),
  ]);
  const llm = { OPENAI_BASE_URL: `${sim.url}/v1`, OPENAI_API_KEY: 'e2e' };
  const agents = Object.fromEntries(mocks.map((mock) => [mock.name.replace(/^mock-/, ''), mock]));
  const agentUrls = mocks.map((mock) => mock.url);

  const planner = await startService({
    name: 'planning-agent',
    entry: 'apps/planning-agent/src/main.ts',
    env: { ...shared, ...llm, PLANNING_AGENT_PORT: '0', AGENT_URLS: agentUrls.join(','), AGENT_AUTH_TOKENS: AGENT_TOKEN },
  });
  const orchestratorEnv = {
    agentUrls: [planner.url, ...agentUrls],
    redisUrl: redis.url,
    prefix: redis.prefix,
    llmUrl: sim.url,
    token: AGENT_TOKEN,
    extra: { AGENT_CLIENT_TOKEN: AGENT_TOKEN, ORCHESTRATOR_RESUME_SCAN_MS: '0', ...options.orchestratorEnv },
  };
  let orchestrator = await startOrchestrator('orchestrator', orchestratorEnv);
  const startGateway = (name: string, env: Record<string, string> = {}) => startService({
    name,
    entry: 'apps/gateway/src/main.ts',
    env: {
      ...shared,
      ...llm,
      GATEWAY_PORT: '0',
      API_TOKENS: `${API_TOKEN},${OTHER_API_TOKEN}`,
      ORCHESTRATOR_URL: orchestrator.url,
      AGENT_CLIENT_TOKEN: AGENT_TOKEN,
      AGENT_URLS: [planner.url, ...agentUrls].join(','),
      AGENT_REFRESH_INTERVAL_MS: '200',
      ...options.gatewayEnv,
      ...env,
    },
  });
  const gateway = await startGateway('gateway');
  const extraGateways: ServiceProcess[] = [];

  const stack: Stack = {
    redis,
    sim,
    agents,
    planner,
    get orchestrator() {
      return orchestrator;
    },
    gateway,
    openai: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: API_TOKEN, maxRetries: 0, timeout: 60_000 }),
    pinPlan(tag, plan, pin = {}) {
      return pinPlanInSimLlm(sim.url, plan, { contains: pin.contains ?? tag, ...(pin.times === undefined ? {} : { times: pin.times }) });
    },
    async restartOrchestrator(env = {}) {
      const port = new URL(orchestrator.url).port;
      orchestrator = await startOrchestrator('orchestrator', { ...orchestratorEnv, extra: { ...orchestratorEnv.extra, ...env, ORCHESTRATOR_PORT: port } });
      return orchestrator;
    },
    async startGateway(env = {}) {
      const replica = await startGateway(`gateway-${extraGateways.length + 2}`, env);
      extraGateways.push(replica);
      return replica;
    },
    request(path, init = {}, token = API_TOKEN) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(`${gateway.url}${path}`, { ...init, headers });
    },
    async stop() {
      await Promise.allSettled([gateway, ...extraGateways, orchestrator, planner, ...mocks, sim].map((service) => service.stop()));
      await redis.cleanup();
    },
  };
  return stack;
}

/** What one streamed completion came to, as the `openai` SDK parsed it. */
export interface StreamTranscript {
  chunks: EnsembleChatCompletionChunk[];
  content: string;
  events: ReasoningEvent[];
  finishReason: string | null | undefined;
}

/** Reads an SDK stream to the end; `onChunk` sees every chunk as it arrives (to act mid-stream). */
export async function readStream(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>, onChunk?: (chunk: EnsembleChatCompletionChunk, transcript: StreamTranscript) => void): Promise<StreamTranscript> {
  const transcript: StreamTranscript = { chunks: [], content: '', events: [], finishReason: undefined };
  for await (const raw of stream) {
    const chunk = raw as EnsembleChatCompletionChunk;
    transcript.chunks.push(chunk);
    transcript.content += chunk.choices[0]?.delta.content ?? '';
    const event = reasoningEventOf(chunk);
    if (event !== undefined) transcript.events.push(event);
    const reason = chunk.choices[0]?.finish_reason;
    if (reason !== undefined && reason !== null) transcript.finishReason = reason;
    onChunk?.(chunk, transcript);
  }
  return transcript;
}

export function ofType(events: readonly ReasoningEvent[], type: ReasoningEvent['type'], node?: string): ReasoningEvent[] {
  return events.filter((event) => event.type === type && (node === undefined || event.node === node));
}

export function indexOf(events: readonly ReasoningEvent[], type: ReasoningEvent['type'], node: string): number {
  return events.findIndex((event) => event.type === type && event.node === node);
}

/** A one-message chat request for the complex path. */
export function ask(text: string, extra: Record<string, unknown> = {}) {
  return { model: 'ensemble', messages: [{ role: 'user' as const, content: text }], ...extra };
}

/** Makes sim-llm answer planning requests (those containing `contains`, when given) with `plan`. */
export async function pinPlanInSimLlm(simUrl: string, plan: ExecutionPlan, pin: { contains?: string; times?: number } = {}): Promise<void> {
  const match = { schemaName: 'execution_plan', ...(pin.contains === undefined ? {} : { contains: pin.contains }) };
  const response = await fetch(`${simUrl}/_sim/scripts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ match, reply: { json: plan }, ...(pin.times === undefined ? {} : { times: pin.times }) }),
  });
  if (response.status !== 201) throw new Error(`sim-llm refused the script: ${response.status} ${await response.text()}`);
}

/** One record of a session's event log, as `GET /v1/sessions/{id}/events` serves it. */
export type LoggedRecord = Record<string, unknown> & { position: number; kind: string };

/**
 * Follows a session's log as a re-attaching client does (the SSE tail from `after`) until `until`
 * accepts a record; resolves with every record read. Ends the request either way.
 */
export async function followSessionLog(stack: Pick<Stack, 'request'>, sessionId: string, after: number, until: (record: LoggedRecord) => boolean): Promise<LoggedRecord[]> {
  const response = await stack.request(`/v1/sessions/${sessionId}/events?after=${after}`, { headers: { accept: 'text/event-stream' } });
  if (response.body === null || response.status !== 200) throw new Error(`events tail answered ${response.status}: ${await response.text()}`);
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const decoder = new SseDecoder();
  const records: LoggedRecord[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the log tail ended before the awaited record; read: ${JSON.stringify(records)}`);
      for (const event of decoder.push(value)) {
        const record = JSON.parse(event.data) as LoggedRecord;
        records.push(record);
        if (until(record)) return records;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** A turn's ending record (anything but `started`). */
export function endsTurn(record: LoggedRecord): boolean {
  return record.kind === 'turn' && record['state'] !== 'started';
}
