import { CONFORMANCE_TOKEN, describeAgentConformance, startReasoningAgent } from './support/agents.js';

/** `apps/reasoning-agent` with bearer auth, sim-llm as its LLM and the real MCP tools server. */
describeAgentConformance('reasoning agent', async (deps) => {
  const reasoning = await startReasoningAgent(deps, { token: CONFORMANCE_TOKEN });
  return {
    url: reasoning.url,
    token: CONFORMANCE_TOKEN,
    prompt: 'What is 1234 * 5678?',
    longRunning: { url: reasoning.url, prompt: `Think about ${deps.hangMarker}` },
  };
});
