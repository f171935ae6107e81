import { Writable } from 'node:stream';

import { TaskState } from '@a2a-js/sdk';
import { AgentEvent } from '@a2a-js/sdk/server';
import { createAgentService } from '@ensemble/a2a/server';
import { createLlmClient } from '@ensemble/llm';
import type { EnsembleChatCompletion, EnsembleChatCompletionChunk, ReasoningTextField } from '@ensemble/openai-a2a';
import { EnsembleMetadataKey } from '@ensemble/protocol';
import { createRouter } from '@ensemble/routing';
import { createLogger } from '@ensemble/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createGatewayApp } from './app.js';
import { A2AOrchestration } from './orchestrator-client.js';
import { InMemorySessionTaskIndex } from './session-tasks.js';

/**
 * Where an orchestrated answer's progress and usage end up for OpenAI-compatible clients, through the
 * real gateway app and A2A client against a stand-in orchestrator (an agent-service kit agent on port
 * 0): progress in `choices[0].delta.reasoning_event` plus a text line in the configured reasoning
 * field, and `usage` = the routing classifier's call + what the orchestrator reports.
 */
const logger = createLogger({ service: 'gateway-test', level: 'silent', destination: new Writable({ write: (_c, _e, callback) => callback() }) });
const TOKEN = 'client-token';
const CLASSIFIER_USAGE = { prompt_tokens: 30, completion_tokens: 2, total_tokens: 32 };
const WORKFLOW_USAGE = [
  { prompt_tokens: 40, completion_tokens: 15 },
  { prompt_tokens: 10, completion_tokens: 5 },
];

const orchestrator = createAgentService({
  logger,
  card: { name: 'orchestrator', description: 'Stand-in orchestrator', skills: [{ id: 'orchestrate', name: 'Orchestrate', description: 'orchestrate' }] },
  executor: async function* (_input, ctx) {
    const progress = (event: Record<string, unknown>, agent: string, node: string) =>
      ctx.publish(
        AgentEvent.statusUpdate({
          taskId: ctx.taskId,
          contextId: ctx.contextId,
          status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: new Date().toISOString() },
          metadata: { [EnsembleMetadataKey.reasoningEvent]: event, [EnsembleMetadataKey.agent]: agent, [EnsembleMetadataKey.node]: node },
        }),
      );
    progress({ type: 'node_started', message: 'started', sequence: 7 }, 'search-agent', 'web-search');
    progress({ type: 'node_completed', message: 'Found 3 pages' }, 'search-agent', 'web-search');
    for (const usage of WORKFLOW_USAGE) ctx.reportUsage(usage);
    yield 'The answer.';
    return undefined;
  },
});
let url: string;

beforeAll(async () => {
  url = (await orchestrator.start({ host: '127.0.0.1', port: 0 })).url;
});
afterAll(() => orchestrator.stop(0));

function gateway(reasoningField?: ReasoningTextField) {
  const orchestration = new A2AOrchestration({ url, token: undefined, timeoutMs: 10_000, logger, sessionTasks: new InMemorySessionTaskIndex(), ...(reasoningField === undefined ? {} : { reasoningField }) });
  return createGatewayApp({
    logger,
    upstream: createLlmClient({ baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }),
    upstreamTimeoutMs: 1_000,
    // The classifier sends the request to orchestration and says what its call cost.
    router: createRouter({ classifier: { classify: () => Promise.resolve({ needs_orchestration: true, reason: 'several steps', usage: CLASSIFIER_USAGE }) }, classifierTimeoutMs: 1_000, cache: false }),
    apiTokens: [TOKEN],
    orchestration,
  });
}

function chat(body: Record<string, unknown>) {
  return {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ensemble', messages: [{ role: 'user', content: 'research this and compare' }], ...body }),
  };
}

async function streamed(app: ReturnType<typeof gateway>, body: Record<string, unknown> = {}): Promise<EnsembleChatCompletionChunk[]> {
  const response = await app.request('/v1/chat/completions', chat({ stream: true, ...body }));
  expect(response.status).toBe(200);
  const text = await response.text();
  expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: ') && frame !== 'data: [DONE]')
    .map((frame) => JSON.parse(frame.slice('data: '.length)) as EnsembleChatCompletionChunk);
}

const EXPECTED_TOTAL = { prompt_tokens: 80, completion_tokens: 22, total_tokens: 102 };

describe('orchestration progress where OpenAI-compatible clients look', () => {
  it('streams each event in choices[0].delta.reasoning_event with a line of delta.reasoning_content', async () => {
    const chunks = await streamed(gateway());
    const started = chunks.find((chunk) => chunk.choices[0]?.delta.reasoning_event?.type === 'node_started');
    expect(started?.choices[0]?.delta).toMatchObject({
      reasoning_event: { type: 'node_started', agent: 'search-agent', node: 'web-search', message: 'started' },
      reasoning_content: '[search-agent] web-search: started\n',
    });
    // Nothing at the top level of the chunk, where the plan's desktop client never looks.
    expect(chunks.some((chunk) => 'reasoning_event' in chunk)).toBe(false);
    // Numbered strictly increasing in the order the client gets them, keeping the number an event came
    // with (an orchestrator's: its log position); events derived from bare states fit in between.
    const sequences = chunks.flatMap((chunk) => chunk.choices[0]?.delta.reasoning_event?.sequence ?? []);
    expect(sequences).toContain(7);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(sequences.length);
    const reasoning = chunks.map((chunk) => chunk.choices[0]?.delta.reasoning_content ?? '').join('');
    expect(reasoning).toContain('[search-agent] web-search: started\n[search-agent] web-search: done — Found 3 pages\n');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('The answer.');
  });

  it('puts the text in delta.reasoning, or nowhere, as configured', async () => {
    const reasoning = await streamed(gateway('reasoning'));
    const withEvent = reasoning.filter((chunk) => chunk.choices[0]?.delta.reasoning_event !== undefined);
    expect(withEvent.length).toBeGreaterThan(1);
    for (const chunk of withEvent) {
      expect(chunk.choices[0]?.delta.reasoning).toMatch(/^\[[^\]]+\] .+\n$/);
      expect(chunk.choices[0]?.delta).not.toHaveProperty('reasoning_content');
    }
    const none = await streamed(gateway('none'));
    const events = none.filter((chunk) => chunk.choices[0]?.delta.reasoning_event !== undefined);
    expect(events.length).toBe(withEvent.length);
    for (const chunk of none) {
      expect(chunk.choices[0]?.delta ?? {}).not.toHaveProperty('reasoning');
      expect(chunk.choices[0]?.delta ?? {}).not.toHaveProperty('reasoning_content');
    }
  });

  it('ends with the usage chunk (classifier + workflow) when stream_options.include_usage is set', async () => {
    const chunks = await streamed(gateway(), { stream_options: { include_usage: true } });
    expect(chunks.at(-1)).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage: EXPECTED_TOTAL });
    expect(chunks.slice(0, -1).every((chunk) => chunk.choices.length === 1)).toBe(true);
    // Without it, no usage chunk (OpenAI semantics).
    expect((await streamed(gateway())).every((chunk) => chunk.choices.length === 1)).toBe(true);
  });

  it('answers non-streaming requests with the events, the joined text and the usage on the message', async () => {
    const response = await gateway().request('/v1/chat/completions', chat({}));
    expect(response.status).toBe(200);
    const body = (await response.json()) as EnsembleChatCompletion;
    const message = body.choices[0]?.message;
    expect(message?.content).toBe('The answer.');
    expect(message?.reasoning_events).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'node_started', agent: 'search-agent', node: 'web-search' }), expect.objectContaining({ type: 'node_completed', message: 'Found 3 pages' })]),
    );
    const sequences = message?.reasoning_events.map((event) => event.sequence ?? -1) ?? [];
    expect(sequences).toContain(7);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(sequences.length);
    expect(message?.reasoning_content?.split('\n').filter((line) => line !== '')).toHaveLength(message?.reasoning_events.length ?? -1);
    expect(message?.reasoning_content).toContain('[search-agent] web-search: started\n');
    expect(body.usage).toEqual(EXPECTED_TOTAL);
    expect(body).not.toHaveProperty('reasoning_events');
  });

  it('counts no classifier tokens when a header chose the path', async () => {
    const app = gateway();
    const response = await app.request('/v1/chat/completions', { ...chat({}), headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'X-Routing-Mode': 'orchestration' } });
    expect(((await response.json()) as EnsembleChatCompletion).usage).toEqual({ prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 });
  });
});

describe('the OpenAPI document', () => {
  it('documents where progress and usage are', async () => {
    const document = (await (await gateway().request('/openapi.json')).json()) as { components: { schemas: Record<string, unknown> } };
    const chunk = JSON.stringify(document.components.schemas['ChatCompletionChunk']);
    const completion = JSON.stringify(document.components.schemas['ChatCompletion']);
    for (const field of ['reasoning_event', 'reasoning_content', 'reasoning']) expect(chunk).toContain(`"${field}"`);
    for (const field of ['reasoning_events', 'reasoning_content']) expect(completion).toContain(`"${field}"`);
    expect(chunk).toContain('node_started');
  });
});
