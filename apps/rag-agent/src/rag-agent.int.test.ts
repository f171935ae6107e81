import { fileURLToPath } from 'node:url';

import { type Message, TaskState } from '@a2a-js/sdk';
import { type A2AClient, type A2AStreamEvent, createA2AClient } from '@ensemble/a2a/client';
import { type AgentService } from '@ensemble/a2a/server';
import { createLlmClient } from '@ensemble/llm';
import { EnsembleMetadataKey, chatRequestToA2AMessage } from '@ensemble/openai-a2a';
import { IngestResponse, RAG_PROMPT_SECTIONS, RAG_SOURCES_ARTIFACT_NAME, ReasoningEvent, RagSourcesResult } from '@ensemble/protocol';
import { type RunningServer, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import { LexicalEmbedder } from '@ensemble/vectors';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '@ensemble/vectors/embedded';
import { PgVectorStore } from '@ensemble/vectors/pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createSimLlmApp } from '../../sim-llm/src/app.js';
import { type RagAgentAppDeps, createRagAgentApp } from './app.js';
import { nothingFoundAnswer } from './rag-run.js';
import { seedKnowledgeBase } from './seed.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CORPUS = 'data/sample-corpus';
const TOKEN = 'rag-test-token';
const logger = createLogger({ service: 'rag-agent-test', level: 'silent' });

const sim = createSimLlmApp({ logger });
const embedder = new LexicalEmbedder();
let database: EmbeddedPostgres;
let store: PgVectorStore;
let simServer: RunningServer;
const services: AgentService[] = [];

/** Starts a RAG agent on port 0 over the shared store; `overrides` change its settings. */
async function startAgent(overrides: Partial<RagAgentAppDeps['settings']> = {}): Promise<{ url: string; client: A2AClient }> {
  const service = createRagAgentApp({
    store,
    embedder,
    llm: createLlmClient({ baseURL: `${simServer.url}/v1`, apiKey: 'sk-test', maxRetries: 0 }),
    settings: { model: 'gpt-4o-mini', topK: 6, minScore: 0.2, contextTokens: 3000, queryRewrite: false, requireTextMatch: true, ...overrides },
    logger,
    authTokens: [TOKEN],
  });
  services.push(service);
  const running = await service.start({ host: '127.0.0.1', port: 0 });
  const client = await createA2AClient({ url: running.url, token: TOKEN, retry: false, breaker: false, logger });
  return { url: running.url, client };
}

let agent: { url: string; client: A2AClient };

beforeAll(async () => {
  database = await startEmbeddedPostgres({ port: 0, maxConnections: 8 });
  store = PgVectorStore.fromUrl(database.url, { space: embedder, schema: 'rag_agent_test', maxConnections: 4 });
  await store.setup();
  const seeded = await seedKnowledgeBase({ store, embedder, logger }, [CORPUS], REPO_ROOT);
  expect(seeded).toMatchObject({ files: 6, added: 6, skipped: [] });
  simServer = await serveHttp(sim.app, { host: '127.0.0.1', port: 0, logger, service: 'sim-llm' });
  agent = await startAgent();
});

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop(1000)));
  await simServer?.close(1000);
  await store?.close();
  await database?.close();
});

beforeEach(() => sim.state.reset());

interface Collected {
  events: A2AStreamEvent[];
  answer: string;
  textChunks: number;
  sources: RagSourcesResult | undefined;
  progress: ReasoningEvent[];
  final: Extract<A2AStreamEvent, { kind: 'status' }> | undefined;
}

async function ask(client: A2AClient, text: string | Message, data?: Record<string, unknown>): Promise<Collected> {
  const collected: Collected = { events: [], answer: '', textChunks: 0, sources: undefined, progress: [], final: undefined };
  const message = typeof text === 'string' ? { text, ...(data === undefined ? {} : { data }) } : text;
  for await (const event of client.stream(message)) {
    collected.events.push(event);
    if (event.kind === 'artifact') {
      if (event.artifact.name === RAG_SOURCES_ARTIFACT_NAME) collected.sources = RagSourcesResult.parse(event.data[0]);
      else if (event.text !== '') {
        collected.answer += event.text;
        collected.textChunks += 1;
      }
    }
    if (event.kind === 'status') {
      const raw: unknown = event.message?.metadata?.[EnsembleMetadataKey.reasoningEvent];
      if (raw !== undefined) collected.progress.push(ReasoningEvent.parse(raw));
      if (event.final) collected.final = event;
    }
  }
  return collected;
}

const phases = (progress: readonly ReasoningEvent[]) => progress.map((event) => event.metadata?.['phase']);
const chatRequests = () => sim.state.requests.list().filter((request) => request.path === '/v1/chat/completions');

describe('answering from the knowledge base', () => {
  it('streams an answer citing [1] and a sources artifact naming the document that holds the answer', async () => {
    const result = await ask(agent.client, 'What are the HNSW index parameters in pgvector?');

    expect(result.final?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(result.textChunks).toBeGreaterThan(3);
    expect(result.answer).toMatch(/^\[sim-llm\] According to the sources: .*\[1\]/);
    expect(result.sources?.found).toBe(true);
    const first = result.sources!.sources[0]!;
    expect(first).toMatchObject({ index: 1, documentId: `${CORPUS}/pgvector-and-hnsw.md`, title: 'Vector search with pgvector', cited: true });
    expect(first.location.headingPath).toContain('HNSW indexes');
    expect(first.score).toBeGreaterThanOrEqual(0.2);
    expect(first.chunkId).toBe(`${CORPUS}/pgvector-and-hnsw.md#${first.chunk}`);
    // Progress as reasoning events, attributed to the agent, in pipeline order.
    expect(phases(result.progress)).toEqual(['retrieving', 'retrieved', 'answering', 'answered']);
    expect(result.progress.every((event) => event.agent === 'rag-agent' && event.type === 'status')).toBe(true);
    expect(result.progress[1]!.message).toMatch(/^Found \d+ relevant sources?$/);

    // The model saw the question and the numbered sources, and only the sources.
    const [request] = chatRequests();
    expect(request?.replySource).toBe('behaviour:rag-answer');
    const body = request?.body as { messages: { role: string; content: string }[]; stream: boolean };
    expect(body.stream).toBe(true);
    expect(body.messages[0]!.content).toContain(`${RAG_PROMPT_SECTIONS.sources}\n[1] Vector search with pgvector (${CORPUS}/pgvector-and-hnsw.md, section:`);
    expect(body.messages[1]).toEqual({ role: 'user', content: 'What are the HNSW index parameters in pgvector?' });
  });

  it('says plainly that nothing relevant was found, without asking the model', async () => {
    const question = 'What is the best recipe for banana bread?';
    const result = await ask(agent.client, question);
    expect(result.final?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(result.answer).toBe(nothingFoundAnswer(question));
    expect(result.sources).toEqual({ query: question, found: false, sources: [] });
    expect(phases(result.progress)).toEqual(['retrieving', 'retrieved']);
    expect(chatRequests()).toHaveLength(0);
  });

  it('narrows retrieval with metadata filters and document ids from a data part', async () => {
    const html = await ask(agent.client, 'How do agents and tools connect?', { retrieval: { filter: { format: 'html' } } });
    expect(html.sources?.sources.length).toBeGreaterThan(0);
    expect(new Set(html.sources?.sources.map((source) => source.documentId))).toEqual(new Set([`${CORPUS}/model-context-protocol.html`]));

    const onlyA2a = await ask(agent.client, 'What are the HNSW index parameters in pgvector?', { retrieval: { documentIds: [`${CORPUS}/a2a-protocol.md`], topK: 2 } });
    expect(onlyA2a.sources?.sources.every((source) => source.documentId === `${CORPUS}/a2a-protocol.md`)).toBe(true);
    expect(onlyA2a.sources!.sources.length).toBeLessThanOrEqual(2);
  });

  it('fails the task with a clear message for an invalid retrieval data part', async () => {
    const result = await ask(agent.client, 'anything', { retrieval: { topK: 0 } });
    expect(result.final?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(result.final?.text).toMatch(/^Invalid data part 'retrieval\.topK': /);
    expect(result.final?.data[0]).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('fails with the upstream error, not a stack trace, when the model is unavailable', async () => {
    sim.state.scripts.add({ match: { contains: 'index parameters' }, reply: { error: { status: 503, message: 'model overloaded' } } });
    const result = await ask(agent.client, 'What are the HNSW index parameters in pgvector?');
    expect(result.final?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(result.final?.text).toBe('Answer generation failed (503): 503 model overloaded');
    expect(result.final?.text).not.toMatch(/\n\s+at /);
  });

  it('rewrites a follow-up into a standalone search query from the forwarded conversation, when enabled', async () => {
    const rewriting = await startAgent({ queryRewrite: true });
    sim.state.scripts.add({ match: { schemaName: 'rag_query_rewrite' }, reply: { json: { query: 'HNSW index parameters ef_search' } } });
    const conversation = chatRequestToA2AMessage({
      model: 'ensemble',
      messages: [
        { role: 'user', content: 'Tell me about HNSW indexes.' },
        { role: 'assistant', content: 'HNSW is an approximate nearest-neighbour index.' },
        { role: 'user', content: 'and how do I tune that one?' },
      ],
    });
    const result = await ask(rewriting.client, conversation);
    const rewrite = chatRequests()[0]?.body as { messages: { role: string; content: string }[] };
    expect(rewrite.messages[0]!.content).toContain('Earlier conversation:\nuser: Tell me about HNSW indexes.\nassistant: HNSW is an approximate nearest-neighbour index.');
    expect(rewrite.messages[1]).toEqual({ role: 'user', content: 'and how do I tune that one?' });
    expect(phases(result.progress)).toEqual(['rewriting', 'retrieving', 'retrieved', 'answering', 'answered']);
    expect(result.sources?.query).toBe('HNSW index parameters ef_search');
    expect(result.sources?.sources[0]?.documentId).toBe(`${CORPUS}/pgvector-and-hnsw.md`);
    expect(chatRequests().map((request) => request.replySource)).toEqual([expect.stringMatching(/^script:/), 'behaviour:rag-answer']);
  });

  it('refuses A2A calls without the bearer token', async () => {
    const response = await fetch(`${agent.url}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
  });

  it('publishes a card the planner can pick the skill from', () => {
    expect(agent.client.card.name).toBe('rag-agent');
    expect(agent.client.card.skills.map((skill) => skill.id)).toEqual(['document-retrieval']);
    expect(agent.client.card.skills[0]!.tags).toEqual(expect.arrayContaining(['retrieval', 'knowledge-base']));
  });
});

describe('POST /v1/ingest', () => {
  const post = (body: string | FormData, headers: Record<string, string> = { 'content-type': 'application/json' }, token: string | null = TOKEN) =>
    fetch(`${agent.url}/v1/ingest`, { method: 'POST', body, headers: { ...headers, ...(token === null ? {} : { authorization: `Bearer ${token}` }) } });

  it('ingests good documents, reports and skips bad ones, and the new knowledge is searchable at once', async () => {
    const documents = [
      {
        id: 'notes/glacier.md',
        text: '# Glacier retention\n\nThe Glacier archive keeps quarterly backups for seven years before deleting them.',
        contentType: 'text/markdown',
        title: 'Backup retention policy',
        source: 'https://wiki.example/glacier',
        metadata: { team: 'storage' },
      },
      { id: 'bad/type.bin', text: 'x', contentType: 'application/zip' },
      { id: 'bad/both.txt', text: 'x', base64: 'eA==' },
      { id: 'bad/empty.txt', text: '   ' },
      { text: 'Field with a typo', contentTyp: 'text/plain' },
    ];
    const response = await post(JSON.stringify({ documents }));
    expect(response.status).toBe(200);
    const body = IngestResponse.parse(await response.json());
    expect(body.documents.map((document) => [document.index, document.id, document.status])).toEqual([
      [0, 'notes/glacier.md', 'added'],
      [1, 'bad/type.bin', 'skipped'],
      [2, 'bad/both.txt', 'skipped'],
      [3, 'bad/empty.txt', 'skipped'],
      [4, undefined, 'skipped'],
    ]);
    expect(body.documents[0]!.chunks).toBeGreaterThan(0);
    expect(body.documents[1]!.reason).toMatch(/^unsupported content type "application\/zip"/);
    expect(body.documents[2]!.reason).toBe('invalid document: give exactly one of "text" or "base64"');
    expect(body.documents[3]!.reason).toBe('no text content');
    expect(body.documents[4]!.reason).toMatch(/contentTyp/);
    expect(body.summary).toMatchObject({ received: 5, added: 1, updated: 0, unchanged: 0, skipped: 4 });

    const result = await ask(agent.client, 'How long does the Glacier archive keep quarterly backups?', { retrieval: { filter: { team: 'storage' } } });
    expect(result.answer).toContain('seven years before deleting them [1].');
    expect(result.sources?.sources[0]).toMatchObject({ documentId: 'notes/glacier.md', title: 'Backup retention policy', source: 'https://wiki.example/glacier', cited: true });

    // Idempotent: the same document again changes nothing.
    const again = IngestResponse.parse(await (await post(JSON.stringify({ documents: documents.slice(0, 1) }))).json());
    expect(again.documents).toEqual([{ index: 0, id: 'notes/glacier.md', status: 'unchanged', chunks: body.documents[0]!.chunks }]);
  });

  it('accepts multipart file uploads', async () => {
    const form = new FormData();
    form.append('file', new File(['Kestrel is the codename of the 2025 storage migration project.'], 'kestrel.txt', { type: 'text/plain' }));
    form.append('file', new File([new Uint8Array([0, 1, 2, 3])], 'blob.bin'));
    form.append('metadata', JSON.stringify({ team: 'uploads' }));
    const response = await post(form, {});
    expect(response.status).toBe(200);
    const body = IngestResponse.parse(await response.json());
    expect(body.documents.map((document) => [document.id, document.status])).toEqual([
      ['kestrel.txt', 'added'],
      ['blob.bin', 'skipped'],
    ]);
    const result = await ask(agent.client, 'What is Kestrel the codename of?', { retrieval: { filter: { team: 'uploads' } } });
    expect(result.sources?.sources.map((source) => source.documentId)).toEqual(['kestrel.txt']);
  });

  it('refuses malformed requests and missing credentials with OpenAI error objects', async () => {
    const empty = await post(JSON.stringify({ documents: [] }));
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'documents', code: 'invalid_request_body' } });

    const notJson = await post('{"documents": [');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'invalid_json' } });

    const noFiles = new FormData();
    noFiles.append('metadata', '{}');
    const noFilesResponse = await post(noFiles, {});
    expect(noFilesResponse.status).toBe(400);

    const anonymous = await post(JSON.stringify({ documents: [{ text: 'x' }] }), { 'content-type': 'application/json' }, null);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { type: 'authentication_error', code: 'missing_api_key' } });
    const wrong = await post(JSON.stringify({ documents: [{ text: 'x' }] }), { 'content-type': 'application/json' }, 'wrong');
    expect(wrong.status).toBe(401);
  });
});

describe('seeding', () => {
  it('is idempotent: a restart over the same corpus changes nothing', async () => {
    const again = await seedKnowledgeBase({ store, embedder, logger }, [CORPUS], REPO_ROOT);
    expect(again).toMatchObject({ files: 6, added: 0, updated: 0, unchanged: 6, nothingChanged: true });
  });
});
