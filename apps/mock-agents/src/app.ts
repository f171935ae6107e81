import { type AgentService, type PushNotificationOptions, type TaskStore, createAgentService } from '@ensemble/a2a/server';
import { type ReadinessCheck, readJsonBody } from '@ensemble/service';
import type { Logger } from '@ensemble/telemetry';
import { z } from 'zod';

import type { MockAgentBehaviour } from './config.js';
import { type MockAgentDeps, createMockAgentRun } from './mock-agent.js';

export interface MockAgentAppDeps extends MockAgentDeps {
  behaviour: MockAgentBehaviour;
  logger: Logger;
  taskStore?: TaskStore;
  /** What `/ready` verifies besides draining (Redis, the LLM, the database). */
  readiness?: readonly ReadinessCheck[];
  authTokens?: readonly string[];
  publicUrl?: string;
  shutdownGraceMs?: number;
  /** Largest A2A request body (`A2A_MAX_BODY_BYTES`); default 4 MiB. */
  maxBodyBytes?: number;
  /** A2A push notifications: where configs live, and whether private-network webhooks are allowed. */
  pushNotifications?: PushNotificationOptions;
}

/**
 * One mock agent as an A2A service, plus `POST /echo` (returns the JSON body): the plain-HTTP baseline
 * that `bench/a2a.bench.ts` compares an A2A round trip with, in the same process.
 */
export function createMockAgentApp(deps: MockAgentAppDeps): AgentService {
  const { behaviour } = deps;
  const service = createAgentService({
    card: {
      name: behaviour.name,
      description: behaviour.description,
      version: behaviour.version,
      skills: behaviour.skills,
      provider: { organization: 'Ensemble (mock agents)', url: 'https://github.com/ensemble' },
    },
    executor: createMockAgentRun(behaviour, deps),
    taskStore: deps.taskStore,
    readiness: deps.readiness,
    logger: deps.logger,
    auth: { tokens: deps.authTokens ?? [] },
    publicUrl: deps.publicUrl,
    shutdownGraceMs: deps.shutdownGraceMs,
    maxBodyBytes: deps.maxBodyBytes,
    pushNotifications: deps.pushNotifications,
  });
  service.app.post('/echo', async (c) => c.json(await readJsonBody(c, z.unknown())));
  return service;
}
