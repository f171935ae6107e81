import { randomUUID } from 'node:crypto';

import { createA2AClient } from '@ensemble/a2a/client';
import { maxOrchestrationMessageBytes, orchestrationMessageBytes } from '@ensemble/openai-a2a';
import { ChatCompletionRequest, OpenAIErrorBodySchema, OrchestratorRpcError } from '@ensemble/protocol';
import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { stopAllServices } from '../support/processes.js';
import { Fuzz, type FuzzRequest, a2aBindingOfPath, agentRequest, gatewayRequest, seededRandom } from './support/fuzz-cases.js';
import { AGENT_TOKEN, API_TOKEN, ORCHESTRATE, type Stack, ask, pinPlanInSimLlm, startStack } from './support/stack.js';

/**
 * Bad input never gets a 5xx. Thousands of generated malformed requests (seeded: set FUZZ_SEED to
 * replay a run) against the real gateway, the real planning agent, the orchestrator and a mock agent,
 * all real processes: every answer must be below 500, JSON, from the gateway an OpenAI error object, and
 * from an agent's A2A routes (slashed paths too) an error in the binding's own format (JSON-RPC, AIP-193).
 * Then the limits the gateway and every agent share (one `A2A_MAX_BODY_BYTES`) are checked at their
 * edge, and the stack must still answer a normal request.
 */

/**
 * The one setting every process of this stack reads (children inherit this file's environment; vitest
 * runs each file in its own process). Small, so the largest accepted conversation is cheap to run.
 */
const A2A_MAX_BODY_BYTES = 512 * 1024;
process.env['A2A_MAX_BODY_BYTES'] = String(A2A_MAX_BODY_BYTES);

const SEED = Number(process.env['FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const REQUESTS = Number(process.env['FUZZ_REQUESTS'] ?? 3_000);
const CONCURRENCY = 8;

let stack: Stack;
/** An agent's failure reason that names where its database runs. */
const LEAKY_REASON = 'Vector store query failed: connect ECONNREFUSED 10.9.8.7:5432 (db.internal:5432, [fd00::7]:5432)';

beforeAll(async () => {
  stack = await startStack({
    agents: [
      { name: 'echo' },
      { name: 'crasher', failure: { mode: 'crash' } },
      // Fails every task with the reason a driver gives (as the RAG agent's vector store did).
      { name: 'leaky', failure: { mode: 'always', message: LEAKY_REASON } },
    ],
  });
  // Every planning request gets a one-node plan on the echo agent, so well-formed orchestrated requests
  // that the fuzz produces now and then finish normally instead of depending on a generated plan.
  await pinPlanInSimLlm(stack.sim.url, plan(planNode('answer', 'echo', 'answer the question')));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stopAllServices();
});

interface Outcome {
  request: FuzzRequest;
  status: number;
  ms: number;
  failure: string | undefined;
}

/** Why a response breaks the rule (5xx, not JSON, not an OpenAI error from the gateway), or `undefined`. */
function judge(request: FuzzRequest, status: number, contentType: string, text: string): string | undefined {
  if (status >= 500) return `status ${status}: ${text.slice(0, 300)}`;
  if (request.method === 'HEAD' || status === 204 || status === 304) return undefined;
  if (contentType.startsWith('text/event-stream')) {
    if (status !== 200) return `event stream with status ${status}`;
    // A stream that started must not end in a server-side failure either.
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const frame = JSON.parse(line.slice(6)) as { error?: { type?: string; code?: string } };
      if (frame.error !== undefined) return `stream ended with an error frame: ${line.slice(0, 300)}`;
    }
    return undefined;
  }
  if (!/^application\/([\w.-]+\+)?json\b/.test(contentType)) return `content-type ${JSON.stringify(contentType)}: ${text.slice(0, 200)}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `body is not JSON: ${text.slice(0, 200)}`;
  }
  if (request.target === 'gateway' && status >= 400 && !OpenAIErrorBodySchema.safeParse(body).success) return `not an OpenAI error object: ${text.slice(0, 200)}`;
  if (request.target !== 'gateway') return a2aFormatFailure(request.path, status, body, text);
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An agent's A2A routes answer every error in their binding's format, never the OpenAI object: under
 * `/a2a/rest` AIP-193 (`{error:{code: <the HTTP status>, status, message, details}}`), anywhere else under
 * `/a2a` (the slashed JSON-RPC path included) a JSON-RPC response whose error has an integer code.
 */
function a2aFormatFailure(path: string, status: number, body: unknown, text: string): string | undefined {
  const binding = a2aBindingOfPath(path);
  if (binding === 'rest') {
    if (status < 400) return undefined;
    const error = isObject(body) ? body['error'] : undefined;
    const aip193 = isObject(error) && error['code'] === status && typeof error['status'] === 'string' && typeof error['message'] === 'string' && Array.isArray(error['details']);
    return aip193 && error['type'] === undefined ? undefined : `not an AIP-193 error: ${text.slice(0, 200)}`;
  }
  if (binding === 'jsonrpc') {
    // A batch (which A2A does not take) may be answered with one response per entry.
    for (const response of Array.isArray(body) ? body : [body]) {
      if (!isObject(response) || response['jsonrpc'] !== '2.0' || !('id' in response)) return `not a JSON-RPC response: ${text.slice(0, 200)}`;
      if (status < 400 && 'result' in response && !('error' in response)) continue;
      const error = response['error'];
      if (!isObject(error) || !Number.isInteger(error['code']) || typeof error['message'] !== 'string' || error['type'] !== undefined) {
        return `not a JSON-RPC error object: ${text.slice(0, 200)}`;
      }
    }
  }
  return undefined;
}

async function send(request: FuzzRequest): Promise<Outcome> {
  const base = { gateway: stack.gateway.url, agent: stack.agents['echo']!.url, planner: stack.planner.url, orchestrator: stack.orchestrator.url }[request.target];
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(`${base}${request.path}`, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { request, status: response.status, ms: ms(), failure: judge(request, response.status, response.headers.get('content-type') ?? '', text) };
  } catch (error) {
    return { request, status: 0, ms: ms(), failure: `no answer: ${error instanceof Error ? `${error.message} ${error.cause instanceof Error ? error.cause.message : ''}` : String(error)}` };
  }
}

describe(`fuzz (seed ${SEED}; FUZZ_SEED=${SEED} replays it)`, () => {
  it(`answers ${REQUESTS} malformed requests with no 5xx and only JSON errors`, async () => {
    console.log(`fuzz seed: ${SEED} (FUZZ_SEED=${SEED} replays this run)`);
    const fuzz = new Fuzz(seededRandom(SEED));
    const agentLimit = maxOrchestrationMessageBytes(A2A_MAX_BODY_BYTES);
    // Generated up front, in order, so the sequence depends on the seed alone (not on response timing).
    const requests = Array.from({ length: REQUESTS }, (): FuzzRequest => {
      const roll = fuzz.int(100);
      if (roll < 60) return gatewayRequest(fuzz, API_TOKEN, agentLimit);
      if (roll < 85) return agentRequest(fuzz, 'agent', undefined);
      if (roll < 95) return agentRequest(fuzz, 'planner', AGENT_TOKEN);
      return agentRequest(fuzz, 'orchestrator', AGENT_TOKEN);
    });

    const started = performance.now();
    const outcomes: Outcome[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const request = requests[next++]!;
          outcomes.push(await send(request));
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;

    const byStatus: Record<string, number> = {};
    const byTarget: Record<string, number> = {};
    for (const outcome of outcomes) {
      byStatus[outcome.status] = (byStatus[outcome.status] ?? 0) + 1;
      byTarget[outcome.request.target] = (byTarget[outcome.request.target] ?? 0) + 1;
    }
    console.log(`fuzz: ${outcomes.length} requests in ${seconds.toFixed(1)} s; by target ${JSON.stringify(byTarget)}; by status ${JSON.stringify(byStatus)}`);
    const slowest = [...outcomes].sort((a, b) => b.ms - a.ms).slice(0, 8);
    console.log(`fuzz: slowest ${slowest.map((outcome) => `${outcome.ms} ms ${outcome.status} [${outcome.request.target}] ${outcome.request.label.slice(0, 80)}`).join('\n  ')}`);
    const failures = outcomes.filter((outcome) => outcome.failure !== undefined).map((outcome) => `[${outcome.request.target}] ${outcome.request.method} ${outcome.request.path.slice(0, 60)} (${outcome.request.label}) -> ${outcome.failure}`);
    expect(failures.slice(0, 20), `seed ${SEED}: ${failures.length} bad answers`).toEqual([]);
    expect(outcomes).toHaveLength(REQUESTS);
    expect(Object.keys(byStatus).filter((status) => Number(status) >= 500)).toEqual([]);
  }, 300_000);

  it('still answers normal requests afterwards: orchestrated, passthrough and plain A2A', async () => {
    const orchestrated = await stack.openai.chat.completions.create(ask('after the fuzz, a normal question'), { headers: ORCHESTRATE });
    expect(orchestrated.choices[0]?.message.content).toEqual(expect.stringContaining('echo('));
    const direct = await stack.openai.chat.completions.create(ask('and a simple one'), { headers: { 'X-Routing-Mode': 'passthrough' } });
    expect(direct.choices[0]?.message.content).toEqual(expect.any(String));
    const agent = await createA2AClient({ url: stack.agents['echo']!.url, retry: false });
    const reply = await agent.send({ text: 'ping' });
    expect(JSON.stringify(reply)).toContain('echo(ping)');
  });
});

describe('limits agree from the gateway to every agent (one A2A_MAX_BODY_BYTES)', () => {
  /** The longest single user message the gateway accepts for orchestration under this stack's setting. */
  function longestAccepted(): number {
    const limit = maxOrchestrationMessageBytes(A2A_MAX_BODY_BYTES);
    const size = (length: number) => orchestrationMessageBytes(ChatCompletionRequest.parse(ask('L'.repeat(length))));
    let low = 0;
    let high = limit;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (size(middle) <= limit) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  it('runs the largest conversation the gateway accepts through the orchestrator, planner and agent; one more character is a 413', async () => {
    const length = longestAccepted();
    const accepted = await stack.openai.chat.completions.create(ask('L'.repeat(length)), { headers: ORCHESTRATE });
    expect(accepted.choices[0]?.message.content).toEqual(expect.stringContaining('echo('));

    const refused = await stack.request('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', ...ORCHESTRATE }, body: JSON.stringify(ask('L'.repeat(length + 1))) });
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'conversation_too_large', param: 'messages' } });
  });

  it('refuses the issue’s 2 MB message and a whitespace-only one with 4xx, not 502', async () => {
    const post = (text: string) => stack.request('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', ...ORCHESTRATE }, body: JSON.stringify(ask(text)) });
    const big = await post('m'.repeat(2 * 1024 * 1024));
    expect(big.status).toBe(413);
    const blank = await post('   \n\t ');
    expect(blank.status).toBe(400);
    expect(await blank.json()).toMatchObject({ error: { code: 'no_user_text' } });
  });

  it('the orchestrator itself refuses a new workflow with no text (a JSON-RPC error, not a failed planner call)', async () => {
    const response = await fetch(`${stack.orchestrator.url}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0', authorization: `Bearer ${AGENT_TOKEN}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: '  \n ' }] } } }),
    });
    expect(response.status).toBeLessThan(500);
    expect(await response.json()).toMatchObject({ error: { code: OrchestratorRpcError.invalidSessionRequest } });
  });
});

describe('errors name the agent, never its address', () => {
  it('a node whose agent dies mid-call fails with the agent’s name and the kind of failure; the URL is only in the log', async () => {
    const crasher = stack.agents['crasher']!;
    const address = new URL(crasher.url).host;
    await pinPlanInSimLlm(stack.sim.url, plan(planNode('lost', 'crasher', 'call the agent that crashes')), { contains: '[crash]' });
    const response = await stack.request('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', ...ORCHESTRATE }, body: JSON.stringify(ask('[crash] ask the agent that dies')) });
    const text = await response.text();
    const { error } = OpenAIErrorBodySchema.parse(JSON.parse(text));
    expect(error.message).toContain('Agent "crasher": connection failed');
    expect(text).not.toContain(address);
    expect(text).not.toMatch(/https?:\/\/(127\.0\.0\.1|localhost)/);
    expect(stack.orchestrator.lines.some((line) => line.includes('A2A call failed') && line.includes(address))).toBe(true);
  });

  it('an agent whose failure reason names an address (a driver error) reaches the client without it, streamed or not', async () => {
    await pinPlanInSimLlm(stack.sim.url, plan(planNode('store', 'leaky', 'ask the agent whose database is gone')), { contains: '[leaky]' });
    for (const stream of [false, true]) {
      const response = await stack.request('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ORCHESTRATE },
        body: JSON.stringify({ ...ask(`[leaky] ask the agent whose database is gone (${stream ? 'streamed' : 'whole'})`), stream }),
      });
      const text = await response.text();
      // The reason itself still comes through, attributed to the agent.
      expect(text).toContain('connect ECONNREFUSED <address withheld>');
      for (const address of ['10.9.8.7', 'db.internal', 'fd00::7', '5432']) expect(text, text.slice(0, 2_000)).not.toContain(address);
    }
  });
});
