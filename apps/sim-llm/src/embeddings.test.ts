import { LexicalEmbedder } from '@ensemble/vectors/lexical';
import { OpenAIEmbedder } from '@ensemble/vectors/openai';
import { describe, expect, it } from 'vitest';

import { serveSimLlmForTests } from '../../../test/support/sim-llm.js';

const sim = serveSimLlmForTests();
const { state } = sim;

async function postEmbeddings(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${sim.url}/v1/embeddings`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('POST /v1/embeddings', () => {
  it('returns the lexical embedder’s vectors, in input order, with usage', async () => {
    const texts = ['HNSW index parameters', 'The A2A protocol lets agents talk', 'HNSW index parameters'];
    const response = await sim.client.embeddings.create({ model: 'text-embedding-3-small', input: texts, encoding_format: 'float' });
    const expected = await new LexicalEmbedder().embed(texts);
    expect(response.object).toBe('list');
    expect(response.model).toBe('text-embedding-3-small');
    expect(response.data.map((item) => item.index)).toEqual([0, 1, 2]);
    expect(response.data.map((item) => item.embedding)).toEqual(expected);
    expect(response.data[0]!.embedding).toHaveLength(384);
    // Same text, same vector; different text, a different one.
    expect(response.data[2]!.embedding).toEqual(response.data[0]!.embedding);
    expect(response.data[1]!.embedding).not.toEqual(response.data[0]!.embedding);
    expect(response.usage.prompt_tokens).toBeGreaterThan(0);
    expect(response.usage.total_tokens).toBe(response.usage.prompt_tokens);
  });

  it('honours `dimensions`', async () => {
    const response = await sim.client.embeddings.create({ model: 'm', input: 'one text', dimensions: 64, encoding_format: 'float' });
    expect(response.data).toHaveLength(1);
    expect(response.data[0]!.embedding).toEqual(new LexicalEmbedder({ dimension: 64 }).embedOne('one text'));
  });

  it('encodes base64 as little-endian float32, which the SDK decodes by default', async () => {
    // Without `encoding_format`, the openai SDK asks for base64 and decodes it itself.
    const response = await sim.client.embeddings.create({ model: 'm', input: 'pgvector cosine distance' });
    const expected = new LexicalEmbedder().embedOne('pgvector cosine distance');
    const received = response.data[0]!.embedding;
    expect(received).toHaveLength(expected.length);
    received.forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 6));

    const raw = await postEmbeddings({ model: 'm', input: ['x y z'], encoding_format: 'base64' });
    const data = raw.json['data'] as { embedding: unknown }[];
    expect(typeof data[0]!.embedding).toBe('string');
  });

  it('serves OpenAIEmbedder offline, agreeing with the in-process lexical embedder', async () => {
    const embedder = await OpenAIEmbedder.create({ model: 'sim-embedding', baseURL: `${sim.url}/v1`, apiKey: 'sk-test' });
    expect(embedder.dimension).toBe(384);
    const [vector] = await embedder.embed(['retrieval augmented generation']);
    expect(vector).toEqual(new LexicalEmbedder().embedOne('retrieval augmented generation'));
  });

  it('refuses empty strings, token arrays and bad fields with OpenAI error objects', async () => {
    const empty = await postEmbeddings({ model: 'm', input: ['fine', ''] });
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual({ error: { message: "'input.1' must not be empty", type: 'invalid_request_error', param: 'input.1', code: 'invalid_value' } });

    const tokens = await postEmbeddings({ model: 'm', input: [1, 2, 3] });
    expect(tokens.status).toBe(400);
    expect(tokens.json['error']).toMatchObject({ type: 'invalid_request_error', param: 'input', code: 'unsupported_value' });

    const noModel = await postEmbeddings({ input: 'text' });
    expect(noModel.status).toBe(400);
    expect(noModel.json['error']).toMatchObject({ type: 'invalid_request_error' });

    const badFormat = await postEmbeddings({ model: 'm', input: 'text', encoding_format: 'int8' });
    expect(badFormat.status).toBe(400);
  });

  it('records embedding requests in the request log', async () => {
    await sim.client.embeddings.create({ model: 'm', input: 'logged', encoding_format: 'float' });
    const requests = state.requests.list();
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ path: '/v1/embeddings', status: 200, body: { model: 'm', input: 'logged' } });
  });
});
