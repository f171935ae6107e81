import { afterAll, beforeAll, describe } from 'vitest';

import { type ConformanceTarget, describeA2AConformance } from './conformance.js';
import { CONFORMANCE_TOKEN, type Dependencies, startDependencies, startReasoningAgent, stopEverything } from './support/agents.js';

/** `apps/reasoning-agent` with bearer auth, sim-llm as its LLM and the real MCP tools server. */
let deps: Dependencies | undefined;
let target: ConformanceTarget;

beforeAll(async () => {
  const started = await startDependencies();
  deps = started;
  const reasoning = await startReasoningAgent(started, { token: CONFORMANCE_TOKEN });
  target = {
    url: reasoning.url,
    token: CONFORMANCE_TOKEN,
    prompt: 'What is 1234 * 5678?',
    longRunning: { url: reasoning.url, prompt: `Think about ${started.hangMarker}` },
  };
}, 120_000);

afterAll(async () => {
  await stopEverything(deps);
});

describe('A2A conformance: reasoning agent', () => {
  describeA2AConformance(() => target);
});
