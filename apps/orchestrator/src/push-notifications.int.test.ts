import { Message } from '@a2a-js/sdk';
import { chatRequestToA2AMessage } from '@ensemble/openai-a2a';
import { OrchestratorMetadataKey } from '@ensemble/protocol';
import { type OrchestratorClient, type ScriptedPlanner, orchestratorClient, plan, planNode, startScriptedPlanner } from '@ensemble/workflow/testing/harness';
import { startMockAgent, startOrchestrator } from '../../../test/support/services.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ServiceProcess, startService, stopAllServices } from '../../../test/support/processes.js';
import { type PushReceiver, pushedState, startPushReceiver } from '../../../test/support/push-receiver.js';
import { testRedis } from '../../../test/support/redis.js';

/**
 * The orchestrator is an A2A server built with the agent kit, so a client can be told by push
 * notification when its workflow pauses for approval and when it ends. Real processes: the orchestrator,
 * a mock agent that asks for approval, sim-llm for the synthesis; a scripted planner in-process.
 */
const redis = testRedis();
const TOKEN = 'orchestrator-push-token';

let planner: ScriptedPlanner;
let orchestrator: ServiceProcess;
let client: OrchestratorClient;
let hooks: PushReceiver;

beforeAll(async () => {
  planner = await startScriptedPlanner();
  hooks = await startPushReceiver();
  const [llm, approver] = await Promise.all([
    startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } }),
    startMockAgent({ name: 'approver', reply: 'restarted {{input}}', failure: { mode: 'approval', summary: 'Restart {{input}}' } }),
  ]);
  orchestrator = await startOrchestrator('orchestrator-push', {
    agentUrls: [planner.url, approver.url],
    redisUrl: redis.url,
    prefix: redis.prefix,
    llmUrl: llm.url,
    token: TOKEN,
    extra: { ORCHESTRATOR_RESUME_SCAN_MS: '0', A2A_PUSH_ALLOW_PRIVATE: 'true' },
  });
  client = await orchestratorClient(orchestrator.url, TOKEN);
}, 120_000);

afterAll(async () => {
  await stopAllServices();
  await planner?.stop();
  await hooks?.close();
  await redis.cleanup();
});

async function rpc(method: string, params: unknown): Promise<{ result?: Record<string, unknown>; error?: { code: number; message: string } }> {
  const response = await fetch(`${orchestrator.url}/a2a/jsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'A2A-Version': '1.0', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await response.json()) as { result?: Record<string, unknown>; error?: { code: number; message: string } };
}

describe('push notifications from the orchestrator', () => {
  it('declares the capability, tells the client when its workflow pauses and when it ends, and refuses a metadata URL', async () => {
    const card = (await (await fetch(`${orchestrator.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })).json()) as { capabilities: Record<string, unknown> };
    expect(card.capabilities['pushNotifications']).toBe(true);

    planner.scripts.set('push', { plan: plan(planNode('restart', 'approver', 'the payments service')) });
    const message = chatRequestToA2AMessage(
      { model: 'sim-model', messages: [{ role: 'user', content: '[push] restart payments' }] },
      { metadata: { [OrchestratorMetadataKey.principal]: 'user-1' } },
    );
    const sent = await rpc('SendMessage', {
      message: Message.toJSON(message),
      configuration: { taskPushNotificationConfig: { url: `${hooks.url}/workflow`, token: 'client-token', authentication: { scheme: 'Bearer', credentials: 'client-secret' } } },
    });
    expect(sent.error).toBeUndefined();
    const task = sent.result?.['task'] as { id: string; contextId: string; status: { state: string } };
    expect(task.status.state).toBe('TASK_STATE_AUTH_REQUIRED');
    const paused = await hooks.waitFor((push) => pushedState(push) === 'TASK_STATE_AUTH_REQUIRED');
    expect(JSON.stringify(paused.body)).toContain('Restart the payments service');
    expect(paused.headers['authorization']).toBe('Bearer client-secret');
    expect(paused.headers['x-a2a-notification-token']).toBe('client-token');

    const refused = await rpc('CreateTaskPushNotificationConfig', { taskId: task.id, url: 'http://169.254.169.254/computeMetadata/v1/' });
    expect(refused.error).toMatchObject({ code: -32602, message: 'Push notification URL refused: its host is a cloud metadata address.' });

    await client.send({ sessionId: task.contextId, taskId: task.id, data: { approval: { decision: 'approve', comment: 'go' } } });
    const ended = await hooks.waitFor((push) => pushedState(push) === 'TASK_STATE_COMPLETED');
    expect(ended.body).toMatchObject({ statusUpdate: { taskId: task.id, contextId: task.contextId } });
    // One notification per state change: the workflow's many progress events in `working` are not.
    expect(hooks.received.map(pushedState)).toEqual(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', 'TASK_STATE_AUTH_REQUIRED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    expect(hooks.received.every((push) => push.path === '/workflow' && push.headers['authorization'] === 'Bearer client-secret')).toBe(true);
  });
});
