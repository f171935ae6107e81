import { type RunningServer, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach } from 'vitest';

import { createSimLlmApp } from '../../apps/sim-llm/src/app.js';
import type { SimLlmState } from '../../apps/sim-llm/src/state.js';

export interface ServedSimLlm {
  readonly state: SimLlmState;
  /** Base URL of the running server (no `/v1`). */
  readonly url: string;
  /** An `openai` client for it, without retries. */
  readonly client: OpenAI;
}

/**
 * sim-llm served on a free port around the calling test file's tests, with an `openai` client; its
 * scripts, faults and request log are reset before each test.
 */
export function serveSimLlmForTests(): ServedSimLlm {
  const logger = createLogger({ service: 'sim-llm-test', level: 'silent' });
  const { app, state } = createSimLlmApp({ logger });
  let running: { server: RunningServer; client: OpenAI } | undefined;
  beforeAll(async () => {
    const server = await serveHttp(app, { host: '127.0.0.1', port: 0, logger, service: 'sim-llm' });
    running = { server, client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test', maxRetries: 0 }) };
  });
  afterAll(async () => {
    await running?.server.close(1000);
  });
  beforeEach(() => state.reset());
  const started = () => {
    if (running === undefined) throw new Error('sim-llm is not running: use it inside tests');
    return running;
  };
  return {
    state,
    get url() {
      return started().server.url;
    },
    get client() {
      return started().client;
    },
  };
}
