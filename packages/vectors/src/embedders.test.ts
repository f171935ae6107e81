import { once } from 'node:events';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { createLlmClient } from '@ensemble/llm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEmbedder } from './create-embedder.js';
import { LEXICAL_MODEL, LexicalEmbedder } from './lexical-embedder.js';
import { OpenAIEmbedder } from './openai-embedder.js';

const cosine = (a: number[], b: number[]) => a.reduce((sum, value, index) => sum + value * b[index]!, 0);

describe('LexicalEmbedder', () => {
  const embedder = new LexicalEmbedder();

  it('is deterministic, L2-normalised and of the configured dimension', async () => {
    const [first, second] = await embedder.embed(['Agents stream task updates.', 'Agents stream task updates.']);
    expect(first).toHaveLength(384);
    expect(first).toEqual(second);
    expect(Math.hypot(...first!)).toBeCloseTo(1, 10);
    expect(new LexicalEmbedder({ dimension: 64 }).embedOne('x y z')).toHaveLength(64);
    expect(embedder.model).toBe(LEXICAL_MODEL);
  });

  it('puts texts sharing words (after case, accents and plural folding) closer than unrelated ones', () => {
    const query = embedder.embedOne('How are HNSW indexes built?');
    const related = embedder.embedOne('Building an HNSW index takes time.');
    const unrelated = embedder.embedOne('Redis keeps the session locks.');
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated) + 0.2);
    expect(cosine(embedder.embedOne('Café résumé'), embedder.embedOne('cafe RESUME'))).toBeCloseTo(1, 10);
  });

  it('embeds text without content words to the zero vector', () => {
    expect(embedder.embedOne('the of and').every((value) => value === 0)).toBe(true);
    expect(() => new LexicalEmbedder({ dimension: 0 })).toThrow(RangeError);
  });
});

describe('OpenAIEmbedder', () => {
  const requests: Array<{ input: string[]; dimensions?: number }> = [];
  let mode: 'ok' | 'short' | 'bad-request' = 'ok';
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const parsed = JSON.parse(body) as { input: string[]; dimensions?: number };
      requests.push(parsed);
      response.setHeader('content-type', 'application/json');
      if (mode === 'bad-request') {
        response.statusCode = 400;
        response.end(JSON.stringify({ error: { message: 'input too long', type: 'invalid_request_error' } }));
        return;
      }
      const size = mode === 'short' ? 2 : 3;
      // Reversed on purpose: the client must order by `index`, not by position.
      const data = parsed.input.map((text, index) => ({ object: 'embedding', index, embedding: Array.from({ length: size }, (_, d) => text.length + d) })).reverse();
      response.end(JSON.stringify({ object: 'list', data, model: 'fake', usage: { prompt_tokens: 1, total_tokens: 1 } }));
    });
  });
  let baseURL: string;
  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  it('batches, keeps input order, and learns the dimension with one probe', async () => {
    mode = 'ok';
    requests.length = 0;
    const embedder = await OpenAIEmbedder.create({ baseURL, model: 'fake', batchSize: 2 });
    expect(embedder.dimension).toBe(3);
    const vectors = await embedder.embed(['a', 'bb', 'ccc', 'dddd', '']);
    expect(vectors.map((vector) => vector[0])).toEqual([1, 2, 3, 4, 1]);
    expect(requests.slice(1).map((request) => request.input)).toEqual([['a', 'bb'], ['ccc', 'dddd'], [' ']]);
    expect(requests.every((request) => request.dimensions === undefined)).toBe(true);
  });

  it('refuses vectors of another dimension and maps upstream errors', async () => {
    const client = createLlmClient({ baseURL, maxRetries: 0 });
    const embedder = new OpenAIEmbedder({ client, model: 'fake', dimension: 3, requestDimensions: true });
    mode = 'short';
    const mismatch = await embedder.embed(['x']).catch((error: unknown) => error);
    expect(EnsembleError.is(mismatch, ErrorCode.UpstreamError)).toBe(true);
    expect((mismatch as EnsembleError).message).toContain('dimension 2, expected 3');
    expect(requests.at(-1)?.dimensions).toBe(3);
    mode = 'bad-request';
    const rejected = await embedder.embed(['x']).catch((error: unknown) => error);
    expect(EnsembleError.is(rejected, ErrorCode.InvalidRequest)).toBe(true);
    expect((rejected as EnsembleError).message).toContain('input too long');
  });

  it('createEmbedder picks the lexical embedder offline', async () => {
    const lexical = await createEmbedder({ model: 'lexical', dimension: 128 });
    expect(lexical).toBeInstanceOf(LexicalEmbedder);
    expect(lexical.dimension).toBe(128);
  });
});
