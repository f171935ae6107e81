import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { plan, planNode } from '@ensemble/workflow/testing/harness';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.js';
import { type ServiceProcess, startService, stopAllServices } from '../support/processes.js';
import { testRedis } from '../support/redis.js';
import { AGENT_TOKEN, pinPlanInSimLlm, readStream } from './support/stack.js';

/**
 * Traces as Phoenix receives them. Every process exports to a receiver that, like Phoenix's
 * `POST /v1/traces`, takes only OTLP protobuf (415 otherwise) and decodes `ExportTraceServiceRequest`s.
 * One orchestrated request (a mock agent and the reasoning agent with its MCP tools, planned by the real
 * planning agent through sim-llm) must arrive as ONE trace across gateway, orchestrator, planner and
 * agents, with OpenInference span kinds and LLM token counts. Services flush their span batches when
 * they stop, so the receiver is read after the stop (and waited on, bounded, not slept on).
 */
const redis = testRedis();
/** Seven processes start here; on a loaded 2-core machine a start-up can take well over the usual 30 s. */
const start = (options: Parameters<typeof startService>[0]) => startService({ timeoutMs: 90_000, ...options });
let receiver: OtlpReceiver;
let sim: ServiceProcess;
let gateway: ServiceProcess;
let configDir: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // Exporting to the receiver is the only change from a plain deployment; the protocol is the default.
  const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
  const shared = { ...traced, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, LOG_LEVEL: 'info' };
  let mcp: ServiceProcess;
  [sim, mcp] = await Promise.all([
    start({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { ...traced, SIM_LLM_PORT: '0' } }),
    start({ name: 'mcp-tools', entry: 'apps/mcp-tools/src/main.ts', env: { ...traced, MCP_TOOLS_PORT: '0' } }),
  ]);
  configDir = await mkdtemp(join(tmpdir(), 'ensemble-tracing-e2e-'));
  const mcpConfig = join(configDir, 'mcp-servers.json');
  await writeFile(mcpConfig, JSON.stringify({ mcpServers: { 'ensemble-tools': { url: `${mcp.url}/mcp` } } }));
  const llm = { OPENAI_BASE_URL: `${sim.url}/v1`, OPENAI_API_KEY: 'e2e' };
  const agentAuth = { AGENT_AUTH_TOKENS: AGENT_TOKEN };

  const [reasoning, search] = await Promise.all([
    start({ name: 'reasoning-agent', entry: 'apps/reasoning-agent/src/main.ts', env: { ...shared, ...llm, ...agentAuth, REASONING_AGENT_PORT: '0', MCP_CONFIG_FILE: mcpConfig } }),
    start({ name: 'search-agent', entry: 'apps/mock-agents/src/main.ts', env: { ...shared, ...agentAuth, MOCK_AGENT_PRESET: 'search', MOCK_AGENT_PORT: '0', MOCK_AGENT_TASK_STORE: 'memory' } }),
  ]);
  const agentUrls = [reasoning.url, search.url];
  const planner = await start({
    name: 'planning-agent',
    entry: 'apps/planning-agent/src/main.ts',
    env: { ...shared, ...llm, ...agentAuth, PLANNING_AGENT_PORT: '0', AGENT_URLS: agentUrls.join(',') },
  });
  const orchestrator = await start({
    name: 'orchestrator',
    entry: 'apps/orchestrator/src/main.ts',
    env: { ...shared, ...llm, ...agentAuth, AGENT_CLIENT_TOKEN: AGENT_TOKEN, ORCHESTRATOR_PORT: '0', ORCHESTRATOR_RESUME_SCAN_MS: '0', AGENT_URLS: [planner.url, ...agentUrls].join(',') },
  });
  gateway = await start({
    name: 'gateway',
    entry: 'apps/gateway/src/main.ts',
    // The LLM classifier routes the request (its call is one of the trace's LLM spans), not the local one.
    env: { ...shared, ...llm, GATEWAY_PORT: '0', ORCHESTRATOR_URL: orchestrator.url, AGENT_CLIENT_TOKEN: AGENT_TOKEN, ROUTING_LOCAL_CLASSIFIER: 'false' },
  });
}, 300_000);

afterAll(async () => {
  await stopAllServices();
  await receiver?.close();
  if (configDir !== undefined) await rm(configDir, { recursive: true, force: true });
  await redis.cleanup();
});

describe('traces exported to a Phoenix-like OTLP receiver', () => {
  it('carry one orchestrated request as one trace across every service, with OpenInference kinds and LLM token counts', async () => {
    await pinPlanInSimLlm(
      sim.url,
      plan(
        planNode('search', 'search-agent', 'find the price list'),
        planNode('compute', 'reasoning-agent', 'Prices: {{nodes.search.output}}\nQuestion: what is 1234 * 5678?', { dependsOn: ['search'] }),
      ),
    );
    // No routing header: the gateway asks the LLM classifier, which sends this request to orchestration.
    const script = await fetch(`${sim.url}/_sim/scripts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ match: { schemaName: 'routing_verdict', contains: 'TRACE-CHECK' }, reply: { json: { needs_orchestration: true, reason: 'a lookup, then a computation' } } }),
    });
    expect(script.status).toBe(201);
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'e2e', maxRetries: 0, timeout: 60_000 });
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'ensemble', stream: true, messages: [{ role: 'user', content: 'TRACE-CHECK: find the price list, then work out the total' }] })
      .withResponse();
    expect(response.headers.get('x-routing-decision')).toMatch(/^orchestration; source=classifier/);
    const transcript = await readStream(stream);
    expect(transcript.finishReason).toBe('stop');
    expect(transcript.events.some((event) => event.type === 'tool_result' && event.agent === 'reasoning-agent')).toBe(true);

    // Stopping a service flushes its span batch: no waiting for the exporters' 5 s schedule.
    await stopAllServices();

    // Phoenix's terms: every export was protobuf, and every one was accepted.
    expect(receiver.requests.length).toBeGreaterThan(0);
    expect(receiver.requests.filter((request) => request.contentType !== 'application/x-protobuf' || request.status !== 200)).toEqual([]);

    const root = rootOfTheRequest(receiver.spans);
    await receiver.waitFor((spans) => spans.some((span) => span.traceId === root.traceId && span.service === 'reasoning-agent' && kind(span) === 'TOOL'), 5_000);
    const trace = receiver.spans.filter((span) => span.traceId === root.traceId);
    const summary = trace.map((span) => `${span.service} ${span.name} ${kind(span) ?? '-'}`).join('\n');

    // One trace, and a tree: every span's parent arrived too.
    const ids = new Set(trace.map((span) => span.spanId));
    expect(trace.filter((span) => span.parentSpanId !== undefined && !ids.has(span.parentSpanId)).map((span) => `${span.service} ${span.name}`)).toEqual([]);
    expect(new Set(trace.map((span) => span.service)), summary).toEqual(
      new Set(['gateway', 'orchestrator', 'planning-agent', 'search-agent', 'reasoning-agent', 'mcp-tools', 'sim-llm']),
    );

    // OpenInference kinds where they apply.
    expect(kind(root)).toBe('CHAIN');
    for (const agent of ['orchestrator', 'planning-agent', 'search-agent', 'reasoning-agent']) {
      expect(trace.filter((span) => span.service === agent && kind(span) === 'AGENT').map((span) => span.attributes['agent.name']), `${agent}\n${summary}`).toContain(agent);
    }
    expect(trace.filter((span) => span.service === 'orchestrator' && kind(span) === 'CHAIN').map((span) => span.attributes['dag.node.id']).sort(), summary).toEqual(['compute', 'search']);
    expect(trace.some((span) => span.service === 'planning-agent' && kind(span) === 'CHAIN'), summary).toBe(true);
    expect(trace.filter((span) => kind(span) === 'TOOL').map((span) => [span.service, span.attributes['tool.name']])).toContainEqual(['reasoning-agent', 'calculator']);

    // Every LLM call, in whichever service made it, carries its model and token counts.
    const llmSpans = trace.filter((span) => kind(span) === 'LLM');
    // The gateway's routing classifier, the planner, the reasoning agent and the orchestrator's synthesis.
    expect(new Set(llmSpans.map((span) => span.service)), summary).toEqual(new Set(['gateway', 'planning-agent', 'reasoning-agent', 'orchestrator']));
    for (const span of llmSpans) {
      const { attributes } = span;
      expect(attributes['llm.model_name'], `${span.service} ${span.name}`).toEqual(expect.any(String));
      expect(attributes['llm.token_count.prompt'], `${span.service} ${span.name}`).toBeGreaterThan(0);
      expect(attributes['llm.token_count.completion'], `${span.service} ${span.name}`).toBeGreaterThan(0);
      expect(attributes['llm.token_count.total']).toBe(Number(attributes['llm.token_count.prompt']) + Number(attributes['llm.token_count.completion']));
    }
  }, 120_000);
});

/** The gateway's server span for the chat completion: the trace's root. */
function rootOfTheRequest(spans: readonly ReceivedSpan[]): ReceivedSpan {
  const roots = spans.filter((span) => span.service === 'gateway' && span.parentSpanId === undefined && span.attributes['url.path'] === '/v1/chat/completions');
  expect(roots).toHaveLength(1);
  return roots[0]!;
}

function kind(span: ReceivedSpan): string | undefined {
  const value = span.attributes['openinference.span.kind'];
  return typeof value === 'string' ? value : undefined;
}
