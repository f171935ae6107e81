import { afterAll, beforeAll, describe } from 'vitest';

import { type ConformanceTarget, describeA2AConformance } from './conformance.js';
import { type Dependencies, startDependencies, startMockAgent, stopEverything } from './support/agents.js';

/**
 * `apps/mock-agents`, without auth (the suite checks the card then claims none). A second instance in
 * `hang` mode holds tasks open until they are canceled, for the running-task checks.
 */
let deps: Dependencies | undefined;
let target: ConformanceTarget;

beforeAll(async () => {
  const started = await startDependencies();
  deps = started;
  const [agent, hanging] = await Promise.all([
    startMockAgent(started, { name: 'mock-search' }),
    startMockAgent(started, { name: 'mock-search-hang', config: { failure: { mode: 'hang' } } }),
  ]);
  target = { url: agent.url, prompt: 'latest stable Node.js release', longRunning: { url: hanging.url, prompt: 'never finishes' } };
}, 120_000);

afterAll(async () => {
  await stopEverything(deps);
});

describe('A2A conformance: mock agent (search preset)', () => {
  describeA2AConformance(() => target);
});
