import { afterAll, beforeAll, describe } from 'vitest';

import { type ConformanceTarget, describeA2AConformance } from './conformance.js';
import { CONFORMANCE_TOKEN, type Dependencies, startDependencies, startRagAgent, stopEverything } from './support/agents.js';

/** `apps/rag-agent` with bearer auth, sim-llm, and the embedded Postgres (in memory) seeded with the sample corpus. */
let deps: Dependencies | undefined;
let target: ConformanceTarget;

beforeAll(async () => {
  const started = await startDependencies();
  deps = started;
  const rag = await startRagAgent(started, { token: CONFORMANCE_TOKEN });
  target = {
    url: rag.url,
    token: CONFORMANCE_TOKEN,
    prompt: 'How does pgvector build an HNSW index?',
    // Worded like a corpus question, so retrieval finds sources and the answer call (which hangs) is made.
    longRunning: { url: rag.url, prompt: `How does pgvector build an HNSW index? ${started.hangMarker}` },
  };
}, 180_000);

afterAll(async () => {
  await stopEverything(deps);
});

describe('A2A conformance: RAG agent', () => {
  describeA2AConformance(() => target);
});
