import { afterAll, beforeAll, describe } from 'vitest';

import { type ConformanceTarget, describeA2AConformance } from './conformance.js';
import { CONFORMANCE_TOKEN, type Dependencies, startDependencies, startMockAgent, startOrchestrator, startPlanningAgent, stopEverything } from './support/agents.js';

/**
 * `apps/orchestrator` with bearer auth, planning with the real planning agent (LLM: sim-llm) over one
 * mock agent. The long-running task is one whose planning call hangs in sim-llm until it is canceled.
 */
let deps: Dependencies | undefined;
let target: ConformanceTarget;

beforeAll(async () => {
  const started = await startDependencies();
  deps = started;
  const search = await startMockAgent(started, { name: 'mock-search', token: CONFORMANCE_TOKEN });
  const planner = await startPlanningAgent(started, { agentUrls: [search.url], token: CONFORMANCE_TOKEN });
  const orchestrator = await startOrchestrator(started, { agentUrls: [planner.url, search.url], token: CONFORMANCE_TOKEN });
  target = {
    url: orchestrator.url,
    token: CONFORMANCE_TOKEN,
    prompt: 'Find recent articles about the A2A protocol',
    longRunning: { url: orchestrator.url, prompt: `Find articles about ${started.hangMarker}` },
  };
}, 180_000);

afterAll(async () => {
  await stopEverything(deps);
});

describe('A2A conformance: orchestrator', () => {
  // The orchestrator answers a new client contextId with a session id of its own (its session store
  // makes the ids), where the spec says keep it or refuse the request. See the report / README.
  describeA2AConformance(() => target, { knownGaps: ['CORE-MULTI-002a'] });
});
