import { RAG_PROMPT_SECTIONS } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { parseSources } from './rag-answer.js';
import { serveSimLlmForTests } from '../../../../test/support/sim-llm.js';

const sim = serveSimLlmForTests();
const { state } = sim;

const SOURCES_PROMPT = [
  'Answer only from the numbered sources and cite them as [n].',
  '',
  RAG_PROMPT_SECTIONS.sources,
  '[1] Vector search with pgvector (docs/pgvector.md)',
  'pgvector adds a vector column type to PostgreSQL. An HNSW index builds a layered graph of the vectors.',
  '',
  '[2] The A2A protocol (docs/a2a.md)',
  'A2A lets agents call each other over HTTP. Every agent publishes an Agent Card describing its skills.',
].join('\n');

describe('rag-answer behaviour', () => {
  it('answers from the sources that match the question, citing them', async () => {
    const completion = await sim.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: SOURCES_PROMPT },
        { role: 'user', content: 'What does every agent publish to describe its skills?' },
      ],
    });
    const answer = completion.choices[0]!.message.content!;
    expect(answer).toBe('[sim-llm] According to the sources: Every agent publishes an Agent Card describing its skills [2].');
    expect(state.requests.list()[0]!.replySource).toBe('behaviour:rag-answer');
  });

  it('cites several sources when several match, and streams the same answer', async () => {
    const messages = [
      { role: 'system' as const, content: SOURCES_PROMPT },
      { role: 'user' as const, content: 'How do HNSW indexes and agent cards work?' },
    ];
    const completion = await sim.client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const answer = completion.choices[0]!.message.content!;
    expect(answer).toContain('[1]');
    expect(answer).toContain('[2]');
    expect(answer).toContain('An HNSW index builds a layered graph of the vectors [1].');

    const stream = await sim.client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    let streamed = '';
    let chunks = 0;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta.content ?? '';
      chunks += 1;
    }
    expect(streamed).toBe(answer);
    expect(chunks).toBeGreaterThan(3);
  });

  it('quotes a sentence, not the title line above it', async () => {
    const prompt = [RAG_PROMPT_SECTIONS.sources, '[1] Retrieval in Ensemble (docs/rag.txt)', 'Retrieval in Ensemble', '', 'Retrieval answers a question from documents.'].join('\n');
    const completion = await sim.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: prompt },
        { role: 'user', content: 'How does retrieval in Ensemble answer a question?' },
      ],
    });
    expect(completion.choices[0]!.message.content).toBe('[sim-llm] According to the sources: Retrieval answers a question from documents [1].');
  });

  it('says nothing relevant was found when the prompt has no sources', async () => {
    const completion = await sim.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: `Answer from the knowledge base.\n${RAG_PROMPT_SECTIONS.noSources}` },
        { role: 'user', content: 'Who won the 1998 world cup?' },
      ],
    });
    expect(completion.choices[0]!.message.content).toBe(
      '[sim-llm] I found nothing relevant in the knowledge base to answer "Who won the 1998 world cup?", so I cannot answer it from the sources.',
    );
  });

  it('leaves other prompts to the other behaviours', async () => {
    await sim.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'See [1] below.' }, { role: 'user', content: 'hello' }] });
    expect(state.requests.list()[0]!.replySource).toBe('fallback:plain-answer');
  });

  it('parses numbered source blocks up to the next marker', () => {
    expect(parseSources('\n[1] A (a.md)\nfirst line\nsecond line\n\n[12] B (b.md)\nlast\n')).toEqual([
      { index: 1, heading: 'A (a.md)', text: 'first line\nsecond line' },
      { index: 12, heading: 'B (b.md)', text: 'last' },
    ]);
  });
});

describe('cited-synthesis behaviour', () => {
  const ragOutput = [
    '[sim-llm] According to the sources: An HNSW index builds a layered graph of the vectors [1]. Agents publish an Agent Card [2].',
    '',
    JSON.stringify({
      query: 'q',
      found: true,
      sources: [
        { index: 1, documentId: 'a.md', chunkId: 'a.md#0', chunk: 0, title: 'Vector search', source: 'docs/a.md', score: 0.4, location: { headingPath: [] }, excerpt: 'x', cited: true },
        { index: 2, documentId: 'b.md', chunkId: 'b.md#0', chunk: 0, title: 'A2A', source: 'docs/b.md', score: 0.3, location: { headingPath: [] }, excerpt: 'y', cited: true },
        { index: 3, documentId: 'c.md', chunkId: 'c.md#0', chunk: 0, title: 'Unused', source: 'docs/c.md', score: 0.2, location: { headingPath: [] }, excerpt: 'z', cited: false },
      ],
    }),
  ].join('\n');

  it('carries the cited sentences and the cited sources into an answer written from agent results', async () => {
    const completion = await sim.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Write the final answer from the agents’ results.' },
        { role: 'user', content: `User request:\nExplain HNSW and agent cards\n\nAgent results:\n\n### lookup (rag-agent): Look it up\n${ragOutput}` },
      ],
    });
    expect(completion.choices[0]!.message.content).toBe(
      '[sim-llm] From the knowledge base: An HNSW index builds a layered graph of the vectors [1]. Agents publish an Agent Card [2].\n\n' +
        'Sources:\n[1] Vector search (docs/a.md)\n[2] A2A (docs/b.md)',
    );
    expect(state.requests.list()[0]!.replySource).toBe('behaviour:cited-synthesis');
  });

  it('lists each cited source once when the same result reaches the prompt twice', async () => {
    // The synthesis prompt holds a RAG node's output and a later node's that quotes it.
    const later = `[sim-llm] Summary of the lookup.\n\n${ragOutput}`;
    const completion = await sim.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Agent results:\n\n### lookup (rag-agent): Look it up\n${ragOutput}\n\n### answer (reasoning-agent): Answer\n${later}` }],
    });
    expect(completion.choices[0]!.message.content).toBe(
      '[sim-llm] From the knowledge base: An HNSW index builds a layered graph of the vectors [1]. Agents publish an Agent Card [2].\n\n' +
        'Sources:\n[1] Vector search (docs/a.md)\n[2] A2A (docs/b.md)',
    );
  });

  it('ignores results where nothing was found or cited', async () => {
    const nothing = JSON.stringify({ query: 'q', found: false, sources: [] });
    await sim.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Agent results:\n${nothing}` }] });
    expect(state.requests.list()[0]!.replySource).toBe('fallback:plain-answer');
  });
});
