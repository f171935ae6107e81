import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { once } from 'node:events';

import { TaskState } from '@a2a-js/sdk';
import { approvalMessage } from '@ensemble/a2a';
import { type A2AClient, type A2AStreamEvent, createA2AClient, resetAgentBreakers } from '@ensemble/a2a/client';
import { type AgentService } from '@ensemble/a2a/server';
import { RedisTaskStore } from '@ensemble/a2a/redis';
import { createLlmClient } from '@ensemble/llm';
import { type McpToolbox, createMcpToolbox, parseMcpServersConfig } from '@ensemble/mcp';
import { EnsembleMetadataKey, createChunkTranslator } from '@ensemble/openai-a2a';
import { EnsembleError, ErrorCode, type ReasoningEvent } from '@ensemble/protocol';
import { type RunningServer, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { testRedis } from '../../../test/support/redis.js';
import { createMcpToolsApp } from '../../mcp-tools/src/app.js';
import type { KnowledgeBase, KnowledgeBaseHit, KnowledgeBaseSearchOptions } from '../../mcp-tools/src/tools/knowledge-base.js';
import { inProcessCalculator } from '../../mcp-tools/src/tools/sandboxed-calculator.js';
import { createSimLlmApp } from '../../sim-llm/src/app.js';
import type { RecordedRequest } from '../../sim-llm/src/request-log.js';
import { REASONING_AGENT_NAME, createReasoningAgentApp } from './app.js';
import { CHECKPOINT_METADATA_KEY } from './checkpoint.js';

/**
 * The reasoning agent against the real MCP tool server (mcp-tools, in process, over Streamable HTTP) and
 * sim-llm scripted through its control API to call tools. Tasks live in the machine's Redis under this
 * file's own prefix. The knowledge base behind `knowledge_base_search` and the SearXNG instance behind
 * `web_search` are test doubles, so the tests can see exactly when a tool runs.
 */
const logger = createLogger({ service: 'reasoning-agent-int-test', level: 'silent' });
const redis = testRedis();

/** Knowledge base whose queries drive it: `slow:*` waits for a second `slow:*` call, `hang:*` until aborted, `fail` throws. */
class ScriptedKnowledgeBase implements KnowledgeBase {
  readonly calls: { query: string; started: number; finished?: number; aborted?: boolean }[] = [];
  private readonly startWaiters = new Map<string, () => void>();
  private readonly slowWaiters: (() => void)[] = [];
  private readonly releases = new Set<() => void>();

  async search(query: string, options: KnowledgeBaseSearchOptions): Promise<KnowledgeBaseHit[]> {
    const call: { query: string; started: number; finished?: number; aborted?: boolean } = { query, started: performance.now() };
    this.calls.push(call);
    this.startWaiters.get(query)?.();
    try {
      if (query.startsWith('slow:')) await this.bothSlowCallsInFlight();
      if (query.startsWith('hang:')) await this.untilAbortedOrReleased(options.signal, call);
      return [{ title: `Notes on ${query}`, source: `kb://${query}`, snippet: `What the knowledge base says about ${query}.`, score: 0.9 }];
    } finally {
      call.finished = performance.now();
    }
  }

  /** Resolves once a search for `query` has started on the MCP server. */
  started(query: string): Promise<void> {
    if (this.calls.some((call) => call.query === query)) return Promise.resolve();
    return new Promise((resolve) => this.startWaiters.set(query, resolve));
  }

  releaseAll(): void {
    for (const release of this.releases) release();
  }

  /** Each slow call waits until a second one is in flight: sequential calls would never get past this. */
  private bothSlowCallsInFlight(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.slowWaiters.push(resolve);
      if (this.slowWaiters.length >= 2) for (const waiter of this.slowWaiters.splice(0)) waiter();
      else setTimeout(() => reject(new EnsembleError(ErrorCode.UpstreamTimeout, 'the second call never started while this one ran')), 5_000).unref();
    });
  }

  private untilAbortedOrReleased(signal: AbortSignal | undefined, call: { aborted?: boolean }): Promise<void> {
    return new Promise((resolve, reject) => {
      const release = () => {
        this.releases.delete(release);
        resolve();
      };
      this.releases.add(release);
      signal?.addEventListener('abort', () => {
        call.aborted = true;
        this.releases.delete(release);
        reject(new EnsembleError(ErrorCode.Cancelled, 'search cancelled'));
      });
    });
  }
}

/** A SearXNG instance stand-in that records every query it is asked. */
function startSearxng(): Promise<{ server: Server; url: string; queries: string[] }> {
  const queries: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query = url.searchParams.get('q') ?? '';
    queries.push(query);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ results: [{ title: `Result for ${query}`, url: 'https://example.org/result', content: 'A web page.' }] }));
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    return { server, url: `http://127.0.0.1:${port}`, queries };
  });
}

const kb = new ScriptedKnowledgeBase();
let sim: RunningServer;
let mcp: RunningServer;
let searxng: { server: Server; url: string; queries: string[] };
let toolbox: McpToolbox;
const agents: AgentService[] = [];

async function startAgent(options: { maxSteps?: number; toolTimeoutMs?: number } = {}): Promise<{ agent: AgentService; client: A2AClient }> {
  const agent = createReasoningAgentApp({
    llm: createLlmClient({ baseURL: `${sim.url}/v1`, maxRetries: 0 }),
    toolbox,
    model: 'gpt-4o-mini',
    maxSteps: options.maxSteps ?? 2,
    ...(options.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: options.toolTimeoutMs }),
    logger,
    taskStore: new RedisTaskStore(redis.redis, { keyPrefix: redis.prefix, ttlSeconds: 300 }),
  });
  agents.push(agent);
  const running = await agent.start({ host: '127.0.0.1', port: 0 });
  return { agent, client: await createA2AClient({ url: running.url, timeoutMs: 15_000, retry: false, breaker: false }) };
}

async function script(match: Record<string, unknown>, reply: Record<string, unknown>, times?: number): Promise<void> {
  const response = await fetch(`${sim.url}/_sim/scripts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ match, reply, ...(times === undefined ? {} : { times }) }),
  });
  expect(response.status).toBe(201);
}

interface LlmRequestBody {
  messages: { role: string; content: string | null; tool_call_id?: string; tool_calls?: { id: string; function: { name: string } }[] }[];
  tools?: { function: { name: string } }[];
  tool_choice?: unknown;
  stream?: boolean;
}

/** The LLM requests whose conversation mentions `marker`, oldest first. */
async function llmRequests(marker: string): Promise<LlmRequestBody[]> {
  const { requests } = (await (await fetch(`${sim.url}/_sim/requests`)).json()) as { requests: RecordedRequest[] };
  return requests.map((request) => request.body as LlmRequestBody).filter((body) => JSON.stringify(body.messages).includes(marker));
}

async function collect(events: AsyncIterable<A2AStreamEvent>, onEvent?: (event: A2AStreamEvent) => Promise<void> | void): Promise<A2AStreamEvent[]> {
  const all: A2AStreamEvent[] = [];
  for await (const event of events) {
    all.push(event);
    await onEvent?.(event);
  }
  return all;
}

function reasoningEventOf(event: A2AStreamEvent): ReasoningEvent | undefined {
  if (event.kind !== 'status') return undefined;
  return event.message?.metadata?.[EnsembleMetadataKey.reasoningEvent] as ReasoningEvent | undefined;
}
const reasoningEvents = (events: A2AStreamEvent[]) => events.flatMap((event) => reasoningEventOf(event) ?? []);
const answerText = (events: A2AStreamEvent[]) => events.map((event) => (event.kind === 'artifact' ? event.text : '')).join('');
const finalState = (events: A2AStreamEvent[]) => {
  const last = events.at(-1);
  return last?.kind === 'status' || last?.kind === 'task' ? last.state : undefined;
};

beforeAll(async () => {
  sim = await serveHttp(createSimLlmApp().app, { host: '127.0.0.1', port: 0, logger, service: 'sim-llm' });
  searxng = await startSearxng();
  const tools = createMcpToolsApp({
    logger,
    calculator: inProcessCalculator,
    knowledgeBase: kb,
    weather: { timeoutMs: 2_000 },
    webSearch: { provider: 'searxng', apiUrl: searxng.url, timeoutMs: 2_000 },
    authTokens: [],
    allowedOrigins: [],
  });
  mcp = await serveHttp(tools, { host: '127.0.0.1', port: 0, logger, service: 'mcp-tools' });
  const config = parseMcpServersConfig({ mcpServers: { 'ensemble-tools': { url: `${mcp.url}/mcp`, requireApproval: ['web_search'], approvalTimeoutSeconds: { web_search: 900 } } } }, { env: {} });
  toolbox = await createMcpToolbox(config, { logger });
  expect(toolbox.status()[0]?.state).toBe('connected');
});

afterAll(async () => {
  resetAgentBreakers();
  kb.releaseAll();
  await Promise.all(agents.map((agent) => agent.stop(1_000)));
  await toolbox?.close();
  await mcp?.close(1_000);
  await sim?.close(1_000);
  searxng?.server.close();
  await redis.cleanup();
});

describe('reasoning agent ↔ MCP tools ↔ sim-llm', () => {
  let client: A2AClient;
  beforeAll(async () => {
    ({ client } = await startAgent());
  });

  it('serves its card with the reasoning skill, and lists its MCP servers and tools on /tools', async () => {
    expect(client.card.name).toBe(REASONING_AGENT_NAME);
    expect(client.card.skills.map((skill) => skill.id)).toEqual(['reasoning']);
    expect(client.card.skills[0]?.examples.length).toBeGreaterThan(0);
    const base = client.card.supportedInterfaces[0]!.url.replace(/\/a2a\/jsonrpc$/, '');
    const tools = (await (await fetch(`${base}/tools`)).json()) as { servers: { name: string; state: string }[]; tools: { name: string; requires_approval: boolean }[] };
    expect(tools.servers).toEqual([expect.objectContaining({ name: 'ensemble-tools', state: 'connected' })]);
    expect(tools.tools).toContainEqual({ name: 'web_search', server: 'ensemble-tools', requires_approval: true });
    expect(tools.tools).toContainEqual({ name: 'calculator', server: 'ensemble-tools', requires_approval: false });
  });

  it('single tool call: the model calls the calculator, gets its result, and streams an answer built on it', async () => {
    await script({ contains: 'single-call' }, { toolCalls: [{ name: 'calculator', arguments: { expression: '12 * (3 + 4)' } }] }, 1);
    const events = await collect(client.stream({ text: 'single-call: how much is twelve times seven?' }));

    expect(finalState(events)).toBe(TaskState.TASK_STATE_COMPLETED);
    const steps = reasoningEvents(events);
    expect(steps.map((event) => event.type)).toEqual(['thinking', 'tool_call', 'tool_result', 'thinking']);
    expect(steps[1]).toMatchObject({ agent: REASONING_AGENT_NAME, metadata: { tool: 'calculator', arguments: { expression: '12 * (3 + 4)' }, server: 'ensemble-tools' } });
    expect(steps[2]).toMatchObject({ metadata: { tool: 'calculator', is_error: false, call_id: steps[1]?.metadata?.['call_id'] } });
    expect(steps[2]?.message).toContain('"result":"84"');

    // The result went back to the model as a tool message answering the call, and the answer reflects it.
    const requests = await llmRequests('single-call');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({ stream: true, tool_choice: 'auto' });
    expect(requests[0]?.tools?.map((tool) => tool.function.name)).toEqual(expect.arrayContaining(['calculator', 'convert_units', 'knowledge_base_search', 'web_search']));
    const toolMessage = requests[1]?.messages.at(-1);
    expect(toolMessage).toMatchObject({ role: 'tool', tool_call_id: steps[1]?.metadata?.['call_id'] });
    expect(toolMessage?.content).toContain('"value":84');
    expect(answerText(events)).toContain('The tool returned:');
    expect(answerText(events)).toContain('84');
    // Streamed token by token, the last chunk marked as such.
    const chunks = events.filter((event) => event.kind === 'artifact');
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.at(-1)).toMatchObject({ lastChunk: true });

    // Through the gateway's translator the steps become OpenAI chunks (`delta.reasoning_event`), then the answer.
    const translator = createChunkTranslator({ id: 'chatcmpl-test', model: 'ensemble', created: 0 });
    const chunksOut = events.flatMap((event) => translator.translate(event));
    const shown = chunksOut.flatMap((chunk) => (chunk.choices[0]?.delta.reasoning_event?.type ?? []));
    expect(shown).toEqual(expect.arrayContaining(['thinking', 'tool_call', 'tool_result']));
    expect(chunksOut.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toContain('84');
    expect(chunksOut.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('parallel tool calls: both searches are in flight at once, and both results go back in call order', async () => {
    await script(
      { contains: 'parallel-calls' },
      {
        toolCalls: [
          { name: 'knowledge_base_search', arguments: { query: 'slow:alpha' } },
          { name: 'knowledge_base_search', arguments: { query: 'slow:beta' } },
        ],
      },
      1,
    );
    const events = await collect(client.stream({ text: 'parallel-calls: compare alpha with beta' }));
    expect(finalState(events)).toBe(TaskState.TASK_STATE_COMPLETED);

    const results = reasoningEvents(events).filter((event) => event.type === 'tool_result');
    expect(results.map((event) => event.metadata?.['is_error'])).toEqual([false, false]);
    const [alpha, beta] = ['slow:alpha', 'slow:beta'].map((query) => kb.calls.find((call) => call.query === query));
    // Each call was running while the other was: their intervals overlap.
    expect(alpha!.started).toBeLessThan(beta!.finished!);
    expect(beta!.started).toBeLessThan(alpha!.finished!);

    const toolMessages = (await llmRequests('parallel-calls'))[1]?.messages.filter((message) => message.role === 'tool');
    expect(toolMessages?.map((message) => message.content)).toEqual([expect.stringContaining('slow:alpha'), expect.stringContaining('slow:beta')]);
  });

  it('a failing tool: the error goes to the model as the tool message and to the user as a reasoning event', async () => {
    await script({ contains: 'failing-tool' }, { toolCalls: [{ name: 'convert_units', arguments: { value: 3, from: 'kg', to: 'km' } }] }, 1);
    const events = await collect(client.stream({ text: 'failing-tool: three kilos in kilometres' }));
    expect(finalState(events)).toBe(TaskState.TASK_STATE_COMPLETED);

    const result = reasoningEvents(events).find((event) => event.type === 'tool_result');
    expect(result).toMatchObject({ metadata: { tool: 'convert_units', is_error: true, error_kind: 'tool_error' } });
    expect(result?.message).toMatch(/^convert_units failed \(tool_error\): /);
    const toolMessage = (await llmRequests('failing-tool'))[1]?.messages.at(-1);
    expect(toolMessage?.role).toBe('tool');
    expect(toolMessage?.content).toBe(String(result?.metadata?.['result']));
    expect(toolMessage?.content).toMatch(/kg|km/);
  });

  it('an unknown tool and malformed arguments come back to the model as errors it can act on', async () => {
    await script(
      { contains: 'unknown-tool' },
      {
        toolCalls: [
          { name: 'teleport', arguments: { to: 'Mars' } },
          { name: 'calculator', arguments: '{"expression": ' },
        ],
      },
      1,
    );
    const events = await collect(client.stream({ text: 'unknown-tool: beam me up' }));
    expect(finalState(events)).toBe(TaskState.TASK_STATE_COMPLETED);

    // Results are announced as each call finishes (here the malformed call, which never leaves the agent, first).
    const results = reasoningEvents(events).filter((event) => event.type === 'tool_result');
    expect(results.map((event) => [event.metadata?.['tool'], event.metadata?.['error_kind']])).toEqual(
      expect.arrayContaining([
        ['teleport', 'unknown_tool'],
        ['calculator', 'invalid_arguments'],
      ]),
    );
    expect(results).toHaveLength(2);
    const toolMessages = (await llmRequests('unknown-tool'))[1]?.messages.filter((message) => message.role === 'tool');
    expect(toolMessages?.[0]?.content).toMatch(/^Unknown tool "teleport"; available tools: .*calculator/);
    expect(toolMessages?.[1]?.content).toContain('The arguments for "calculator" are not valid JSON');
  });

  it('step limit: the loop stops, says the answer is partial, and asks the model to summarise without tools', async () => {
    await script({ contains: 'step-limit' }, { toolCalls: [{ name: 'calculator', arguments: { expression: '1 + 1' } }] }, 2);
    const events = await collect(client.stream({ text: 'step-limit: keep adding forever' }));
    expect(finalState(events)).toBe(TaskState.TASK_STATE_COMPLETED);

    const steps = reasoningEvents(events);
    expect(steps.filter((event) => event.type === 'tool_call')).toHaveLength(2);
    expect(steps.at(-1)).toMatchObject({ type: 'status', metadata: { reason: 'step_limit', max_steps: 2 } });
    expect(answerText(events)).toMatch(/^Partial answer: I stopped after 2 reasoning steps, the limit for one request, before finishing\./);

    const requests = await llmRequests('step-limit');
    expect(requests).toHaveLength(3);
    expect(requests[2]?.tool_choice).toBe('none');
    expect(requests[2]?.messages.at(-1)).toMatchObject({ role: 'system', content: expect.stringContaining('cannot call tools any more') as string });
  });

  it('cancel while the model is thinking: the task ends canceled and the LLM request is aborted', async () => {
    await script({ contains: 'cancel-llm' }, { hang: true }, 1);
    const events = await collect(client.stream({ text: 'cancel-llm: think for a long time' }), async (event) => {
      if (reasoningEventOf(event)?.type === 'thinking' && event.kind === 'status') await client.cancelTask(event.taskId);
    });
    expect(finalState(events)).toBe(TaskState.TASK_STATE_CANCELED);
    const wait = await fetch(`${sim.url}/_sim/requests/wait?count=1&aborted=true&timeout_ms=5000`);
    expect(wait.status).toBe(200);
    const { requests } = (await wait.json()) as { requests: RecordedRequest[] };
    expect(requests.some((request) => JSON.stringify(request.body).includes('cancel-llm'))).toBe(true);
  });

  it('cancel while a tool runs: the task ends canceled, the tool call is abandoned and the loop stops', async () => {
    await script({ contains: 'cancel-tool' }, { toolCalls: [{ name: 'knowledge_base_search', arguments: { query: 'hang:cancel' } }] }, 1);
    const { agent, client: own } = await startAgent();
    const events = await collect(own.stream({ text: 'cancel-tool: look this up' }), async (event) => {
      if (reasoningEventOf(event)?.type === 'tool_call' && event.kind === 'status') {
        await kb.started('hang:cancel');
        await own.cancelTask(event.taskId);
      }
    });
    expect(finalState(events)).toBe(TaskState.TASK_STATE_CANCELED);
    // The run itself is over (not just its published state), with no further model turn.
    await vi.waitFor(() => expect(agent.activeTasks).toBe(0));
    expect(await llmRequests('cancel-tool')).toHaveLength(1);
    expect(reasoningEvents(events).some((event) => event.type === 'tool_result')).toBe(false);
  });

  it('a tool timeout is reported to the model and the user, and the loop goes on', async () => {
    await script({ contains: 'timeout-tool' }, { toolCalls: [{ name: 'knowledge_base_search', arguments: { query: 'hang:timeout' } }] }, 1);
    const { client: impatient } = await startAgent({ toolTimeoutMs: 300 });
    const events = await collect(impatient.stream({ text: 'timeout-tool: look this up' }));
    expect(finalState(events)).toBe(TaskState.TASK_STATE_COMPLETED);
    const result = reasoningEvents(events).find((event) => event.type === 'tool_result');
    expect(result).toMatchObject({ metadata: { is_error: true, error_kind: 'timeout' } });
    const toolMessage = (await llmRequests('timeout-tool'))[1]?.messages.at(-1);
    expect(toolMessage?.content).toContain('timed out after 300 ms');
  });
});

describe('approval-required tools', () => {
  it('waits in auth-required with the call as context; approve (on another replica) runs it without re-asking the model', async () => {
    const [{ client: first }, { client: second }] = await Promise.all([startAgent(), startAgent()]);
    await script({ contains: 'approve-me' }, { toolCalls: [{ name: 'web_search', arguments: { query: 'ensemble approve-me', count: 2 } }] }, 1);

    const asked = await collect(first.stream({ text: 'approve-me: search the web' }));
    const waiting = asked.at(-1);
    expect(waiting).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_AUTH_REQUIRED });
    if (waiting?.kind !== 'status') return;
    const request = waiting.data[0]?.['approvalRequest'] as { key: string; summary: string; details: Record<string, unknown> };
    expect(request.summary).toBe('Run the tool "web_search" (MCP server "ensemble-tools") with arguments {"query":"ensemble approve-me","count":2}.');
    // The tool's schema (to check an approver's edit) and the deadline the MCP config gives this tool.
    expect(request.details).toMatchObject({ tool: 'web_search', arguments: { query: 'ensemble approve-me', count: 2 }, input_schema: { type: 'object' }, timeout_seconds: 900 });
    expect(reasoningEvents(asked).find((event) => event.type === 'tool_call')).toMatchObject({ metadata: { tool: 'web_search', requires_approval: true } });
    expect(searxng.queries).not.toContain('ensemble approve-me');

    const resumed = await collect(second.stream(approvalMessage({ taskId: waiting.taskId, contextId: waiting.contextId, decision: 'approve' })));
    expect(finalState(resumed)).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(searxng.queries).toContain('ensemble approve-me');
    expect(reasoningEvents(resumed).find((event) => event.type === 'tool_result')).toMatchObject({ metadata: { tool: 'web_search', is_error: false, approval: 'approved' } });
    // The model was asked twice in all: the resume continued from the saved state instead of starting over.
    const requests = await llmRequests('approve-me');
    expect(requests).toHaveLength(2);
    expect(requests[1]?.messages.at(-1)?.content).toContain('Result for ensemble approve-me');
    const task = await first.getTask(waiting.taskId);
    expect(task.metadata?.[CHECKPOINT_METADATA_KEY]).toBeNull();
  });

  it('approve with edited arguments: the tool runs with the approver’s arguments, not the model’s', async () => {
    const { client } = await startAgent();
    await script({ contains: 'edit-me' }, { toolCalls: [{ name: 'web_search', arguments: { query: 'ensemble edit-me' } }] }, 1);
    const asked = await collect(client.stream({ text: 'edit-me: search the web' }));
    const waiting = asked.at(-1);
    if (waiting?.kind !== 'status') throw new Error('expected a status event');
    expect(waiting.state).toBe(TaskState.TASK_STATE_AUTH_REQUIRED);

    const edited = { query: 'ensemble edited-query', count: 1 };
    const resumed = await collect(client.stream(approvalMessage({ taskId: waiting.taskId, contextId: waiting.contextId, decision: 'approve', arguments: edited })));
    expect(finalState(resumed)).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(searxng.queries).toContain('ensemble edited-query');
    expect(searxng.queries).not.toContain('ensemble edit-me');
  });

  it('reject: the tool does not run and the model is told the user declined', async () => {
    const { client } = await startAgent();
    await script({ contains: 'reject-me' }, { toolCalls: [{ name: 'web_search', arguments: { query: 'ensemble reject-me' } }] }, 1);
    const asked = await collect(client.stream({ text: 'reject-me: search the web' }));
    const waiting = asked.at(-1);
    if (waiting?.kind !== 'status') throw new Error('expected a status event');
    expect(waiting.state).toBe(TaskState.TASK_STATE_AUTH_REQUIRED);

    const resumed = await collect(client.stream(approvalMessage({ taskId: waiting.taskId, contextId: waiting.contextId, decision: 'reject', comment: 'no web access today' })));
    expect(finalState(resumed)).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(searxng.queries).not.toContain('ensemble reject-me');
    expect(reasoningEvents(resumed).find((event) => event.type === 'tool_result')).toMatchObject({
      metadata: { tool: 'web_search', is_error: true, error_kind: 'declined', approval: 'rejected' },
    });
    const toolMessage = (await llmRequests('reject-me'))[1]?.messages.at(-1);
    expect(toolMessage?.content).toMatch(/^The user declined to run "web_search" with these arguments, so it was not run\. Their comment: no web access today/);
  });
});

describe('offline demo: sim-llm reasons with the real tools on its own', () => {
  it('answers an arithmetic and a unit question by calling calculator and convert_units in one step', async () => {
    const { client } = await startAgent();
    const events = await collect(client.stream({ text: 'What is 1234 * 5678, and convert 26.2 miles to km?' }));
    expect(finalState(events)).toBe(TaskState.TASK_STATE_COMPLETED);
    const calls = reasoningEvents(events).filter((event) => event.type === 'tool_call');
    expect(calls.map((event) => event.metadata?.['tool'])).toEqual(['calculator', 'convert_units']);
    expect(answerText(events)).toContain('1234 * 5678 = 7006652');
    expect(answerText(events)).toMatch(/42\.16\d* km/);
  });
});
