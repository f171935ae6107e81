import { describeAgentConformance, startMockAgent } from './support/agents.js';

/**
 * `apps/mock-agents`, without auth (the suite checks the card then claims none). A second instance in
 * `hang` mode holds tasks open until they are canceled, for the running-task checks.
 */
describeAgentConformance('mock agent (search preset)', async (deps) => {
  const [agent, hanging] = await Promise.all([
    startMockAgent(deps, { name: 'mock-search' }),
    startMockAgent(deps, { name: 'mock-search-hang', config: { failure: { mode: 'hang' } } }),
  ]);
  return { url: agent.url, prompt: 'latest stable Node.js release', longRunning: { url: hanging.url, prompt: 'never finishes' } };
});
