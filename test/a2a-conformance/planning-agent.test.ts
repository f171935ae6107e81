import { afterAll, beforeAll, describe } from 'vitest';

import { type ConformanceTarget, describeA2AConformance } from './conformance.js';
import { CONFORMANCE_TOKEN, type Dependencies, startDependencies, startMockAgent, startPlanningAgent, stopEverything } from './support/agents.js';

/** `apps/planning-agent` with bearer auth, sim-llm as its LLM and one mock agent in its catalog. */
let deps: Dependencies | undefined;
let target: ConformanceTarget;

beforeAll(async () => {
  const started = await startDependencies();
  deps = started;
  const search = await startMockAgent(started, { name: 'mock-search', token: CONFORMANCE_TOKEN });
  const planner = await startPlanningAgent(started, { agentUrls: [search.url], token: CONFORMANCE_TOKEN });
  target = {
    url: planner.url,
    token: CONFORMANCE_TOKEN,
    prompt: 'Find recent articles about the A2A protocol',
    longRunning: { url: planner.url, prompt: `Find articles about ${started.hangMarker}` },
  };
}, 120_000);

afterAll(async () => {
  await stopEverything(deps);
});

describe('A2A conformance: planning agent', () => {
  describeA2AConformance(() => target);
});
