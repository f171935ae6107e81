import { type A2AStreamEvent, createA2AClient, resetAgentBreakers } from '@ensemble/a2a/client';
import { type EnsembleChatCompletionChunk, chatRequestToA2AMessage, createChunkTranslator, reasoningEventOf } from '@ensemble/openai-a2a';
import type { ExecutionPlan } from '@ensemble/protocol';
import { planNode } from '@ensemble/workflow/testing/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ServiceProcess, startService, stopAllServices } from '../support/processes.js';
import { testRedis } from '../support/redis.js';
import { pinPlanInSimLlm } from './support/stack.js';

/**
 * A complex request whose plan uses the real RAG agent, across real processes: sim-llm (the LLM and the
 * plan, pinned by a script on `execution_plan`), the embedded Postgres server, the RAG agent seeded with
 * the sample corpus at start-up (as the launcher configures it), the planning agent and the orchestrator,
 * all on port 0 with Redis under this file's own prefix.
 *
 * The request goes to the orchestrator over A2A, and its stream is turned into OpenAI chunks with the
 * gateway's own translator, because the gateway's complex path is not wired to the orchestrator yet (it
 * answers 501). Once it is, this test should post to the gateway's `/v1/chat/completions` instead.
 */
const redis = testRedis();
const CORPUS_DOCUMENT = 'data/sample-corpus/pgvector-and-hnsw.md';
let sim: ServiceProcess;
let rag: ServiceProcess;
let orchestrator: ServiceProcess;

const PLAN: ExecutionPlan = {
  goal: 'Answer from the knowledge base',
  rationale: 'The answer is in the documentation, so the RAG agent looks it up.',
  nodes: [planNode('lookup', 'rag-agent', '{{request}}', { skill: 'document-retrieval', description: 'Look the answer up in the knowledge base' })],
};

beforeAll(async () => {
  const shared = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, LOG_LEVEL: 'info' };
  let postgres: ServiceProcess;
  [sim, postgres] = await Promise.all([
    startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } }),
    startService({ name: 'embedded-postgres', entry: 'apps/embedded-postgres/src/main.ts', env: { EMBEDDED_PG_PORT: '0', EMBEDDED_PG_DATA_DIR: 'memory' }, timeoutMs: 60_000 }),
  ]);
  const llm = { OPENAI_BASE_URL: `${sim.url}/v1`, OPENAI_API_KEY: 'e2e' };
  rag = await startService({
    name: 'rag-agent',
    entry: 'apps/rag-agent/src/main.ts',
    env: { ...shared, ...llm, RAG_AGENT_PORT: '0', EMBEDDED_PG_URL: postgres.url, RAG_SEED_PATHS: 'data/sample-corpus', VECTOR_STORE_SCHEMA: 'rag_e2e' },
    timeoutMs: 60_000,
  });
  const planner = await startService({
    name: 'planning-agent',
    entry: 'apps/planning-agent/src/main.ts',
    env: { ...shared, ...llm, PLANNING_AGENT_PORT: '0', AGENT_URLS: rag.url },
  });
  orchestrator = await startService({
    name: 'orchestrator',
    entry: 'apps/orchestrator/src/main.ts',
    env: { ...shared, ...llm, ORCHESTRATOR_PORT: '0', AGENT_URLS: [planner.url, rag.url].join(',') },
  });
}, 180_000);

afterAll(async () => {
  resetAgentBreakers();
  await stopAllServices();
  await redis.cleanup();
});

describe('a planned workflow with the RAG agent', () => {
  it('seeds the sample corpus at start-up, before it listens', async () => {
    const seeded = await rag.waitForLine((line) => line['msg'] === 'knowledge base seeded');
    expect(seeded).toMatchObject({ files: 6, added: 6, skipped: 0 });
    const ready = await rag.waitForLine((line) => line['msg'] === 'rag agent ready');
    expect(ready['chunks']).toBeGreaterThan(6);
  });

  it('answers a complex request with an OpenAI answer that carries cited sources', async () => {
    await pinPlanInSimLlm(sim.url, PLAN);

    const client = await createA2AClient({ url: orchestrator.url, timeoutMs: 60_000, retry: false });
    const request = { model: 'ensemble', stream: true, messages: [{ role: 'user' as const, content: 'What are the HNSW index parameters in pgvector?' }] };
    const translator = createChunkTranslator({ id: 'chatcmpl-rag-e2e', model: 'ensemble', created: 0 });
    const chunks: EnsembleChatCompletionChunk[] = [];
    const events: A2AStreamEvent[] = [];
    for await (const event of client.stream(chatRequestToA2AMessage(request))) {
      events.push(event);
      chunks.push(...translator.translate(event));
    }
    chunks.push(...translator.finish());

    expect(translator.result.error).toBeUndefined();
    expect(translator.result.state).toBe('completed');
    const reasoning = chunks.flatMap((chunk) => reasoningEventOf(chunk) ?? []);
    const fromRag = reasoning.filter((event) => event.agent === 'rag-agent');
    expect(fromRag.map((event) => event.message), JSON.stringify(reasoning, null, 1)).toEqual(
      expect.arrayContaining([
        'Searching the knowledge base for "What are the HNSW index parameters in pgvector?"',
        expect.stringMatching(/^Found \d+ relevant sources?$/),
        expect.stringMatching(/^Answered citing \[1\]/),
      ]),
    );
    expect(reasoning.some((event) => event.type === 'node_completed' && event.node === 'lookup')).toBe(true);

    // The final answer keeps the RAG agent's citations and names the document they point to.
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(content).toMatch(/\[1\]/);
    expect(content).toContain(`[1] Vector search with pgvector (${CORPUS_DOCUMENT})`);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');

    // The RAG agent's answer was grounded: its model call carried the numbered sources.
    const { requests } = (await (await fetch(`${sim.url}/_sim/requests`)).json()) as { requests: { replySource?: string; body: { messages?: { content?: unknown }[] } }[] };
    const grounded = requests.find((entry) => entry.replySource === 'behaviour:rag-answer');
    expect(JSON.stringify(grounded?.body.messages)).toContain(`[1] Vector search with pgvector (${CORPUS_DOCUMENT}`);
    expect(requests.some((entry) => entry.replySource === 'behaviour:cited-synthesis')).toBe(true);
  });
});
