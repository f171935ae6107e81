import { randomUUID } from 'node:crypto';

import { approvalMessage } from '@ensemble/a2a';
import { createA2AClient, fetchAgentCard, resetAgentBreakers } from '@ensemble/a2a/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { type ServiceProcess, startService, stopAllServices } from '../../../test/support/processes.js';
import { type PushReceiver, pushedState, startPushReceiver } from '../../../test/support/push-receiver.js';
import { testRedis } from '../../../test/support/redis.js';

/**
 * An A2A push config on an agent task, over real processes: mock agents in `approval` mode (the task
 * pauses in auth-required) with tasks and push configs in the machine's Redis, and a webhook receiver on
 * 127.0.0.1 in this test.
 */
const redis = testRedis();
let receiver: PushReceiver | undefined;

afterEach(async () => {
  resetAgentBreakers();
  await receiver?.close();
  receiver = undefined;
});
afterAll(async () => {
  await stopAllServices();
  await redis.cleanup();
});

let counter = 0;
function startMock(env: Record<string, string> = {}): Promise<ServiceProcess> {
  counter += 1;
  return startService({
    name: `push-mock-${counter}`,
    entry: 'apps/mock-agents/src/main.ts',
    env: {
      MOCK_AGENT_PORT: '0',
      MOCK_AGENT_PRESET: 'analysis',
      MOCK_AGENT_CONFIG: JSON.stringify({ failure: { mode: 'approval', summary: 'Restart {{input}} in production.' } }),
      MOCK_AGENT_TASK_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      A2A_TASK_TTL_SECONDS: '300',
      ...env,
    },
  });
}

async function rpc(url: string, method: string, params: unknown): Promise<{ result?: Record<string, unknown>; error?: { code: number; message: string } }> {
  const response = await fetch(`${url}/a2a/jsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
    body: JSON.stringify({ jsonrpc: '2.0', id: randomUUID(), method, params }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { result?: Record<string, unknown>; error?: { code: number; message: string } };
}

function send(url: string, text: string, pushConfig?: Record<string, unknown>) {
  return rpc(url, 'SendMessage', {
    message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] },
    ...(pushConfig === undefined ? {} : { configuration: { taskPushNotificationConfig: pushConfig } }),
  });
}

describe('an A2A push config on an agent task', () => {
  it('notifies the pause and the end, with the credentials, from whichever replica runs the task; a metadata-address URL is refused', async () => {
    receiver = await startPushReceiver();
    const hooks = receiver;
    const [asking, answering] = await Promise.all([startMock({ A2A_PUSH_ALLOW_PRIVATE: 'true' }), startMock({ A2A_PUSH_ALLOW_PRIVATE: 'true' })]);
    expect((await fetchAgentCard(asking.url)).capabilities?.pushNotifications).toBe(true);

    // The config travels with the message: the receiver hears about the task from its first state.
    const sent = await send(asking.url, 'the payments service', {
      url: `${hooks.url}/webhooks/a2a`,
      token: 'task-token',
      authentication: { scheme: 'Bearer', credentials: 'receiver-secret' },
    });
    const task = sent.result?.['task'] as { id: string; contextId: string; status: { state: string } };
    expect(task.status.state).toBe('TASK_STATE_AUTH_REQUIRED');
    const paused = await hooks.waitFor((push) => pushedState(push) === 'TASK_STATE_AUTH_REQUIRED');
    expect(paused.body).toMatchObject({ statusUpdate: { taskId: task.id, contextId: task.contextId } });
    expect(JSON.stringify(paused.body)).toContain('Restart the payments service in production.');

    // A second config, set with the method, on the other replica (configs live in Redis).
    const created = await rpc(answering.url, 'CreateTaskPushNotificationConfig', { taskId: task.id, url: `${hooks.url}/webhooks/second`, token: 'second-token' });
    expect(created.error).toBeUndefined();
    const listed = await rpc(asking.url, 'ListTaskPushNotificationConfigs', { taskId: task.id });
    expect((listed.result?.['configs'] as unknown[]).length).toBe(2);

    // The metadata address is refused with InvalidParams, naming the reason and nothing internal.
    const refused = await rpc(answering.url, 'CreateTaskPushNotificationConfig', { taskId: task.id, url: 'http://169.254.169.254/latest/meta-data/iam/' });
    expect(refused.error).toMatchObject({ code: -32602, message: 'Push notification URL refused: its host is a cloud metadata address.' });
    expect(((await rpc(asking.url, 'ListTaskPushNotificationConfigs', { taskId: task.id })).result?.['configs'] as unknown[]).length).toBe(2);

    // Approved on the other replica: it resumes the task and notifies both webhooks.
    const client = await createA2AClient({ url: answering.url, timeoutMs: 10_000, retry: false });
    await client.send(approvalMessage({ taskId: task.id, contextId: task.contextId, decision: 'approve', comment: 'go' }));
    await hooks.waitFor((push) => push.path === '/webhooks/a2a' && pushedState(push) === 'TASK_STATE_COMPLETED');
    await hooks.waitFor((push) => push.path === '/webhooks/second' && pushedState(push) === 'TASK_STATE_COMPLETED');

    const first = hooks.received.filter((push) => push.path === '/webhooks/a2a');
    expect(first.map(pushedState)).toEqual(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', 'TASK_STATE_AUTH_REQUIRED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    for (const push of first) {
      expect(push.headers['authorization']).toBe('Bearer receiver-secret');
      expect(push.headers['x-a2a-notification-token']).toBe('task-token');
    }
    const second = hooks.received.filter((push) => push.path === '/webhooks/second');
    expect(second.map(pushedState)).toEqual(['TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    expect(second.every((push) => push.headers['x-a2a-notification-token'] === 'second-token' && push.headers['authorization'] === undefined)).toBe(true);
    await Promise.all([asking.stop(), answering.stop()]);
  });

  it('refuses a loopback webhook unless A2A_PUSH_ALLOW_PRIVATE=true', async () => {
    const strict = await startMock();
    const refused = await send(strict.url, 'the search service', { url: 'http://127.0.0.1:9/hook' });
    expect(refused.error?.code).toBe(-32602);
    expect(refused.error?.message).toContain('loopback');
    await strict.stop();
  });
});
