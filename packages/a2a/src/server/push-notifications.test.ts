import { randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { collectingLogger } from '../../../../test/support/logs.js';
import { type PushReceiver, pushedState, startPushReceiver } from '../../../../test/support/push-receiver.js';
import { approvalMessage } from '../approval.js';
import { createA2AClient } from '../client/a2a-client.js';
import { resetAgentBreakers } from '../client/resilience.js';
import { type AgentService, type AgentServiceOptions, createAgentService } from './agent-service.js';
import type { AgentRun } from './executor.js';
import type { HostResolver } from './push-url.js';

const started: AgentService[] = [];
const receivers: PushReceiver[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((service) => service.stop(500)));
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  resetAgentBreakers();
});

const CARD = { name: 'push-agent', description: 'An agent for push tests', skills: [{ id: 'act', name: 'Act', description: 'Acts after approval' }] };

/** Asks for approval, then streams its answer in several chunks with progress in between. */
const risky: AgentRun = async function* (input, ctx) {
  const answer = await ctx.requireApproval({ summary: `Restart ${input.text}.` });
  if (answer.decision === 'reject') ctx.reject('Not restarted');
  ctx.status('restarting');
  ctx.status('still restarting');
  yield 'restarted ';
  yield input.text;
};

async function startAgent(options: Partial<AgentServiceOptions> = {}) {
  const logs = collectingLogger('push-test');
  const service = createAgentService({ card: CARD, executor: risky, logger: logs.logger, ...options });
  const running = await service.start({ host: '127.0.0.1', port: 0 });
  started.push(service);
  return { url: running.url, logs };
}

async function receiver(): Promise<PushReceiver> {
  const started = await startPushReceiver();
  receivers.push(started);
  return started;
}

let rpcId = 0;
async function rpc(url: string, method: string, params: unknown): Promise<{ result?: Record<string, unknown>; error?: { code: number; message: string } }> {
  rpcId += 1;
  const response = await fetch(`${url}/a2a/jsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
    body: JSON.stringify({ jsonrpc: '2.0', id: rpcId, method, params }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { result?: Record<string, unknown>; error?: { code: number; message: string } };
}

/** Starts a task that pauses for approval; returns its ids. */
async function pausedTask(url: string, text = 'payments'): Promise<{ id: string; contextId: string }> {
  const client = await createA2AClient({ url, timeoutMs: 5_000, retry: false });
  const task = await client.send({ text });
  if (!('id' in task)) throw new Error('expected a task');
  return { id: task.id, contextId: task.contextId };
}

async function approve(url: string, task: { id: string; contextId: string }): Promise<void> {
  const client = await createA2AClient({ url, timeoutMs: 5_000, retry: false });
  await client.send(approvalMessage({ taskId: task.id, contextId: task.contextId, decision: 'approve' }));
}

describe('A2A push notifications in the agent kit', () => {
  it('declares the capability in the card (v1.0 and v0.3), and not when turned off', async () => {
    const { url } = await startAgent();
    const v1 = (await (await fetch(`${url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })).json()) as { capabilities: Record<string, unknown> };
    expect(v1.capabilities['pushNotifications']).toBe(true);
    const legacy = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as { capabilities: Record<string, unknown> };
    expect(legacy.capabilities['pushNotifications']).toBe(true);

    const off = await startAgent({ pushNotifications: false });
    const card = (await (await fetch(`${off.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })).json()) as { capabilities: Record<string, unknown> };
    expect(card.capabilities['pushNotifications']).toBeFalsy();
    const task = await pausedTask(off.url);
    const refused = await rpc(off.url, 'CreateTaskPushNotificationConfig', { taskId: task.id, url: 'https://hooks.example.com/' });
    expect(refused.error?.code).toBe(-32003);
  });

  it('POSTs the StreamResponse on each state change, with the config credentials, in order, and not for chunks or progress', async () => {
    const hooks = await receiver();
    const { url } = await startAgent({ pushNotifications: { allowPrivate: true } });
    const task = await pausedTask(url);
    const created = await rpc(url, 'CreateTaskPushNotificationConfig', {
      taskId: task.id,
      url: `${hooks.url}/a2a-hook`,
      token: 'task-token-1',
      authentication: { scheme: 'Bearer', credentials: 'hook-secret' },
    });
    expect(created.error).toBeUndefined();
    expect(created.result).toMatchObject({ taskId: task.id, url: `${hooks.url}/a2a-hook`, token: 'task-token-1' });
    const configId = created.result?.['id'];
    expect(typeof configId).toBe('string');
    const listed = await rpc(url, 'ListTaskPushNotificationConfigs', { taskId: task.id });
    expect(listed.result).toMatchObject({ configs: [{ id: configId, url: `${hooks.url}/a2a-hook` }] });

    await approve(url, task);
    await hooks.waitFor((push) => pushedState(push) === 'TASK_STATE_COMPLETED');
    // The pause came before the config: what follows is working (resumed), then completed. The second
    // progress message and the text chunks change no state.
    expect(hooks.received.map(pushedState)).toEqual(['TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    for (const push of hooks.received) {
      expect(push.path).toBe('/a2a-hook');
      expect(push.headers['authorization']).toBe('Bearer hook-secret');
      expect(push.headers['x-a2a-notification-token']).toBe('task-token-1');
      expect(push.headers['content-type']).toBe('application/a2a+json');
    }
    expect(hooks.received.at(-1)?.body).toMatchObject({ statusUpdate: { taskId: task.id, contextId: task.contextId, status: { state: 'TASK_STATE_COMPLETED' } } });
  });

  it('takes a push config in the message itself and notifies from the first state', async () => {
    const hooks = await receiver();
    const { url } = await startAgent({ pushNotifications: { allowPrivate: true } });
    const sent = await rpc(url, 'SendMessage', {
      message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'billing' }] },
      configuration: { taskPushNotificationConfig: { url: `${hooks.url}/inline`, token: 'inline-token' } },
    });
    const task = sent.result?.['task'] as { id: string; status: { state: string } };
    expect(task.status.state).toBe('TASK_STATE_AUTH_REQUIRED');
    const paused = await hooks.waitFor((push) => pushedState(push) === 'TASK_STATE_AUTH_REQUIRED');
    expect(paused.headers['x-a2a-notification-token']).toBe('inline-token');
    expect(paused.headers['authorization']).toBeUndefined();
    expect(hooks.received.map(pushedState)[0]).toBe('TASK_STATE_SUBMITTED');
  });

  it('refuses a metadata-address URL with InvalidParams naming the reason, and private ones unless allowed', async () => {
    const strict = await startAgent();
    const task = await pausedTask(strict.url);
    const metadata = await rpc(strict.url, 'CreateTaskPushNotificationConfig', { taskId: task.id, url: 'http://169.254.169.254/latest/meta-data/' });
    expect(metadata.error).toMatchObject({ code: -32602, message: 'Push notification URL refused: its host is a cloud metadata address.' });
    const loopback = await rpc(strict.url, 'CreateTaskPushNotificationConfig', { taskId: task.id, url: 'http://127.0.0.1:9/hook' });
    expect(loopback.error?.code).toBe(-32602);
    expect(loopback.error?.message).toMatch(/loopback address \(allowed only with A2A_PUSH_ALLOW_PRIVATE=true\)/);
    const inMessage = await rpc(strict.url, 'SendMessage', {
      message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'x' }] },
      configuration: { taskPushNotificationConfig: { url: 'http://[fe80::1]/hook' } },
    });
    expect(inMessage.error?.code).toBe(-32602);
    expect(inMessage.error?.message).toContain('link-local');
    // ProtoJSON leaves an empty list out.
    expect((await rpc(strict.url, 'ListTaskPushNotificationConfigs', { taskId: task.id })).result?.['configs'] ?? []).toEqual([]);

    const allowing = await startAgent({ pushNotifications: { allowPrivate: true } });
    const other = await pausedTask(allowing.url);
    expect((await rpc(allowing.url, 'CreateTaskPushNotificationConfig', { taskId: other.id, url: 'http://127.0.0.1:9/hook' })).error).toBeUndefined();
    const stillRefused = await rpc(allowing.url, 'CreateTaskPushNotificationConfig', { taskId: other.id, url: 'http://metadata.google.internal/' });
    expect(stillRefused.error?.code).toBe(-32602);
  });

  it('serves the push-config routes of the HTTP+JSON binding, with a 400 for a refused URL', async () => {
    const { url } = await startAgent({ pushNotifications: { allowPrivate: true } });
    const task = await pausedTask(url);
    const base = `${url}/a2a/rest/tasks/${task.id}/pushNotificationConfigs`;
    const headers = { 'content-type': 'application/json', 'A2A-Version': '1.0' };
    const created = await fetch(base, { method: 'POST', headers, body: JSON.stringify({ id: 'rest-1', url: 'http://127.0.0.1:9/rest' }) });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: 'rest-1', taskId: task.id, url: 'http://127.0.0.1:9/rest' });
    expect(await (await fetch(base, { headers })).json()).toMatchObject({ configs: [{ id: 'rest-1' }] });
    expect(await (await fetch(`${base}/rest-1`, { headers })).json()).toMatchObject({ id: 'rest-1', url: 'http://127.0.0.1:9/rest' });
    expect((await fetch(`${base}/rest-1`, { method: 'DELETE', headers })).status).toBe(204);
    expect((await fetch(`${base}/rest-1`, { headers })).status).toBe(404);

    const refused = await fetch(base, { method: 'POST', headers, body: JSON.stringify({ url: 'http://169.254.169.254/' }) });
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { error: { status: string; message: string } };
    expect(body.error).toMatchObject({ status: 'INVALID_ARGUMENT', message: 'Push notification URL refused: its host is a cloud metadata address.' });
  });

  it('retries a failed delivery, and checks the host again at delivery time (connecting to the address it checked)', async () => {
    const hooks = await receiver();
    // `hooks.test` exists only in this resolver: a delivery reaches the receiver only through the address
    // the check accepted, never through a second lookup.
    let answer = ['127.0.0.1'];
    const resolve: HostResolver = async () => answer.map((address) => ({ address, family: 4 as const }));
    const port = new URL(hooks.url).port;
    const { url, logs } = await startAgent({ pushNotifications: { allowPrivate: true, resolve, initialDelayMs: 1 } });

    const first = await pausedTask(url);
    expect((await rpc(url, 'CreateTaskPushNotificationConfig', { taskId: first.id, url: `http://hooks.test:${port}/named` })).error).toBeUndefined();
    hooks.failNext(2, 503);
    await approve(url, first);
    await hooks.waitFor((push) => pushedState(push) === 'TASK_STATE_COMPLETED');
    expect(hooks.received.map(pushedState)).toEqual(['TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    expect(hooks.received[0]?.headers['host']).toBe(`hooks.test:${port}`);
    expect(logs.lines.find((line) => line['msg'] === 'push notification delivered' && line['task_id'] === first.id)).toMatchObject({ attempts: 3 });

    // The name now resolves to the metadata address: nothing is sent, and the log says why.
    const second = await pausedTask(url, 'search');
    expect((await rpc(url, 'CreateTaskPushNotificationConfig', { taskId: second.id, url: `http://hooks.test:${port}/named?key=secret` })).error).toBeUndefined();
    answer = ['169.254.169.254'];
    await approve(url, second);
    const refusedLine = (line: Record<string, unknown>) => line['msg'] === 'push notification not sent: webhook URL refused' && line['task_id'] === second.id;
    await logs.waitForLine((line) => refusedLine(line) && logs.lines.filter(refusedLine).length === 2);
    expect(logs.lines.filter(refusedLine)[0]).toMatchObject({ reason: 'metadata', webhook: `http://hooks.test:${port}/named` });
    expect(hooks.received).toHaveLength(2);
  });
});
