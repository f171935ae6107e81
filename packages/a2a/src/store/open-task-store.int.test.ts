import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { collectingLogger } from '../../../../test/support/logs.js';
import { freePort } from '../../../../test/support/ports.js';
import { testRedis } from '../../../../test/support/redis.js';
import { type AgentService, createAgentService } from '../server/agent-service.js';
import { type OpenedTaskStore, openAgentTaskStore } from './open-task-store.js';

const redis = testRedis();
const opened: { service: AgentService; tasks: OpenedTaskStore }[] = [];

afterEach(async () => {
  for (const { service, tasks } of opened.splice(0)) {
    await service.stop(1_000);
    await tasks.close().catch(() => undefined);
  }
});
afterAll(() => redis.cleanup());

/** An agent whose task store is the one its configuration opens, with that store's readiness checks. */
async function agentOn(redisUrl: string): Promise<string> {
  const { logger } = collectingLogger('open-task-store-test');
  const tasks = openAgentTaskStore('redis', { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: redis.prefix, A2A_TASK_TTL_SECONDS: 60 }, logger);
  const service = createAgentService({
    card: { name: 'ready-agent', description: 'readiness', version: '1.0.0', skills: [] },
    executor: async function* () {
      yield 'ok';
    },
    logger,
    taskStore: tasks.taskStore,
    readiness: tasks.readiness,
  });
  opened.push({ service, tasks });
  return (await service.start({ host: '127.0.0.1', port: 0 })).url;
}

describe('an agent on the task store its configuration opens', () => {
  it('is ready while its Redis answers', async () => {
    const url = await agentOn(redis.url);
    const response = await fetch(`${url}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: { redis: { status: 'ok' } } });
  });

  it('is alive but not ready when its Redis is down, without telling the prober where Redis is', async () => {
    const port = await freePort();
    const url = await agentOn(`redis://127.0.0.1:${port}`);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const response = await fetch(`${url}/ready`);
    expect(response.status).toBe(503);
    const body = await response.text();
    expect(JSON.parse(body)).toMatchObject({ status: 'not_ready', checks: { redis: { status: 'fail' } } });
    expect(body).not.toContain(String(port));
  });

  it('has nothing to check for the memory store', () => {
    const { logger } = collectingLogger('open-task-store-test');
    expect(openAgentTaskStore('memory', { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, A2A_TASK_TTL_SECONDS: 60 }, logger).readiness).toEqual([]);
  });
});
