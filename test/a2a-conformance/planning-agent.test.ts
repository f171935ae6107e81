import { CONFORMANCE_TOKEN, describeAgentConformance, startMockAgent, startPlanningAgent } from './support/agents.js';

/** `apps/planning-agent` with bearer auth, sim-llm as its LLM and one mock agent in its catalog. */
describeAgentConformance('planning agent', async (deps) => {
  const search = await startMockAgent(deps, { name: 'mock-search', token: CONFORMANCE_TOKEN });
  const planner = await startPlanningAgent(deps, { agentUrls: [search.url], token: CONFORMANCE_TOKEN });
  return {
    url: planner.url,
    token: CONFORMANCE_TOKEN,
    prompt: 'Find recent articles about the A2A protocol',
    longRunning: { url: planner.url, prompt: `Find articles about ${deps.hangMarker}` },
  };
});
