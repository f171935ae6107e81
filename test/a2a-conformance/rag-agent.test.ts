import { CONFORMANCE_TOKEN, describeAgentConformance, startRagAgent } from './support/agents.js';

/** `apps/rag-agent` with bearer auth, sim-llm, and the embedded Postgres (in memory) seeded with the sample corpus. */
describeAgentConformance(
  'RAG agent',
  async (deps) => {
    const rag = await startRagAgent(deps, { token: CONFORMANCE_TOKEN });
    return {
      url: rag.url,
      token: CONFORMANCE_TOKEN,
      prompt: 'How does pgvector build an HNSW index?',
      // Worded like a corpus question, so retrieval finds sources and the answer call (which hangs) is made.
      longRunning: { url: rag.url, prompt: `How does pgvector build an HNSW index? ${deps.hangMarker}` },
    };
  },
  180_000,
);
