import type { ReasoningEvent } from '@ensemble/protocol';
import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { stopAllServices } from '../support/processes.js';
import { pushedState, startPushReceiver } from '../support/push-receiver.js';
import { AGENT_TOKEN, type LoggedRecord, OTHER_API_TOKEN, type Stack, endsTurn, followSessionLog, ofType, readStream, startStack } from './support/stack.js';

/**
 * The offline approval demo as a user runs it (README, "An approval you can watch offline"): the
 * operations mock agent asks before it changes a running system, sim-llm's planner sends such requests
 * to it, and the approvals API decides with no chat client connected. Then what the API promises around
 * it: a modify reaches the agent exactly, reject, two parallel pauses decided one by one, and deadlines
 * that fire after an orchestrator restart under each timeout action.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'operations', preset: 'operations' }, { name: 'alpha' }], orchestratorEnv: { A2A_PUSH_ALLOW_PRIVATE: 'true' } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stopAllServices();
});

interface ApprovalView {
  id: string;
  session_id: string;
  node_id: string;
  agent: string;
  status: string;
  action: string;
  reason: string | null;
  risks: string[];
  impact: string | null;
  arguments: Record<string, unknown> | null;
  expires_at: string;
  decided_by?: string | null;
}

const json = { 'content-type': 'application/json' };

async function approvalsOf(sessionId: string): Promise<ApprovalView[]> {
  const response = await stack.request(`/v1/approvals?session_id=${sessionId}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: ApprovalView[] }).data;
}

function decide(id: string, body: Record<string, unknown>, token?: string): Promise<Response> {
  return stack.request(`/v1/approvals/${id}`, { method: 'POST', headers: json, body: JSON.stringify(body) }, token);
}

/** Streams one chat turn (no routing header: the classifier decides, as for any client) to its pause. */
async function pausedTurn(text: string): Promise<{ sessionId: string; events: ReasoningEvent[] }> {
  const { data, response } = await stack.openai.chat.completions.create({ model: 'ensemble', messages: [{ role: 'user', content: text }], stream: true }).withResponse();
  const transcript = await readStream(data);
  const sessionId = response.headers.get('x-session-id') ?? '';
  expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
  expect(ofType(transcript.events, 'approval_required').length).toBeGreaterThan(0);
  return { sessionId, events: transcript.events };
}

/** The log's head: where a client that re-attaches after a decision starts reading. */
async function logHead(sessionId: string): Promise<number> {
  return ((await (await stack.request(`/v1/sessions/${sessionId}/events?limit=1`)).json()) as { head: number }).head;
}

function decidedEvents(records: readonly LoggedRecord[]): Record<string, unknown>[] {
  return records.flatMap((record) => {
    const event = record['event'] as ReasoningEvent | undefined;
    return record.kind === 'progress' && event?.type === 'approval_decided' ? [event.metadata ?? {}] : [];
  });
}

describe('the offline demo: "Restart the payments service in production"', () => {
  it('pauses, lists the approval with its context, and completes in the background once approved with edited arguments', async () => {
    const { sessionId } = await pausedTurn('Restart the payments service in production');
    const [approval, ...others] = await approvalsOf(sessionId);
    expect(others).toEqual([]);
    expect(approval).toMatchObject({
      agent: 'operations-agent',
      status: 'pending',
      action: 'restart the payments service in production',
      reason: 'The request asks for it: "Restart the payments service in production"',
      arguments: { operation: 'restart', service: 'payments', environment: 'production' },
    });
    expect(approval!.risks.length).toBeGreaterThan(0);
    expect(approval!.impact).toContain('payments');
    expect(Date.parse(approval!.expires_at) - Date.now()).toBeGreaterThan(23 * 3_600_000);

    // The edit is checked against the agent's schema first: a 400 naming the field, nothing decided.
    const bad = await decide(approval!.id, { decision: 'approve', arguments: { operation: 'restart', service: 'payments', environment: 'moon' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { param: 'arguments.environment' } });

    const head = await logHead(sessionId);
    const edited = { operation: 'restart', service: 'payments', environment: 'staging' };
    const approved = await decide(approval!.id, { decision: 'approve', arguments: edited, comment: 'staging first' });
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ status: 'approved', arguments: edited, comment: 'staging first' });

    // No chat client is connected: a client that re-attaches sees the decision and the rest of the run.
    const rest = await followSessionLog(stack, sessionId, head, endsTurn);
    expect(rest.at(-1)).toMatchObject({ kind: 'turn', state: 'completed' });
    expect(decidedEvents(rest)).toEqual([expect.objectContaining({ approval_id: approval!.id, decision: 'approved', arguments_before: approval!.arguments, arguments_after: edited })]);
    const answer = rest.flatMap((record) => (record.kind === 'answer' ? [String(record['text'])] : [])).join('');
    expect(answer.length).toBeGreaterThan(0);
    // The agent acted on exactly what was approved.
    const acted = await stack.agents['operations']!.waitForLine((line) => line['msg'] === 'acting on the approved arguments' && JSON.stringify(line['arguments']) === JSON.stringify(edited));
    expect(acted['decision']).toBe('approve');
    expect(await decide(approval!.id, { decision: 'reject' }).then((response) => response.status)).toBe(409);
  });

  it('rejects through the API: the agent does not act and the workflow ends rejected', async () => {
    const { sessionId } = await pausedTurn('Delete the reports service in staging');
    const [approval] = await approvalsOf(sessionId);
    expect(approval).toMatchObject({ arguments: { operation: 'delete', service: 'reports', environment: 'staging' } });
    // Another principal can neither see nor decide it.
    expect((await decide(approval!.id, { decision: 'approve' }, OTHER_API_TOKEN)).status).toBe(404);

    const head = await logHead(sessionId);
    expect((await decide(approval!.id, { decision: 'reject', comment: 'not during the freeze' })).status).toBe(200);
    const rest = await followSessionLog(stack, sessionId, head, endsTurn);
    expect(rest.at(-1)).toMatchObject({ kind: 'turn', state: 'rejected', code: 'approval_rejected' });
    expect(decidedEvents(rest)).toEqual([expect.objectContaining({ approval_id: approval!.id, decision: 'rejected', comment: 'not during the freeze' })]);
    const [after] = await approvalsOf(sessionId);
    expect(after).toMatchObject({ status: 'rejected', decided_by: expect.any(String) as unknown });
    const acted = stack.agents['operations']!.lines.filter((line) => line.includes('acting on the approved arguments') && line.includes('"service":"reports"'));
    expect(acted).toEqual([]);
  });

  it('two parallel pauses are two approvals: deciding one resumes only its node, the other stays pending', async () => {
    await stack.pinPlan(
      '[two-restarts]',
      plan(planNode('payments', 'operations-agent', 'Restart the payments service in staging'), planNode('search', 'operations-agent', 'Restart the search service in staging')),
    );
    const { sessionId } = await pausedTurn('[two-restarts] Restart the payments and search services in staging');
    const approvals = await approvalsOf(sessionId);
    expect(approvals.map((approval) => approval.node_id).sort()).toEqual(['payments', 'search']);
    const payments = approvals.find((approval) => approval.node_id === 'payments')!;
    const search = approvals.find((approval) => approval.node_id === 'search')!;

    // A chat "approve" cannot tell which one it means.
    const ambiguous = await stack.request('/v1/chat/completions', {
      method: 'POST',
      headers: { ...json, 'x-session-id': sessionId },
      body: JSON.stringify({ model: 'ensemble', messages: [{ role: 'user', content: 'approve' }] }),
    });
    expect(ambiguous.status).toBe(409);
    expect(await ambiguous.json()).toMatchObject({ error: { code: 'approval_ambiguous' } });

    let head = await logHead(sessionId);
    expect((await decide(payments.id, { decision: 'approve' })).status).toBe(200);
    const first = await followSessionLog(stack, sessionId, head, endsTurn);
    expect(first.at(-1)).toMatchObject({ kind: 'turn', state: 'paused' });
    const completedNodes = first.flatMap((record) => {
      const event = record['event'] as ReasoningEvent | undefined;
      return event?.type === 'node_completed' ? [event.node] : [];
    });
    expect(completedNodes).toEqual(['payments']);
    expect((await approvalsOf(sessionId)).find((approval) => approval.node_id === 'search')).toMatchObject({ status: 'pending' });
    // The session view carries the history: the pending one first, then the decided one with who and when.
    const view = (await (await stack.request(`/v1/sessions/${sessionId}`)).json()) as { status: string; approvals: ApprovalView[] };
    expect(view.status).toBe('waiting_approval');
    expect(view.approvals).toEqual([
      expect.objectContaining({ id: search.id, status: 'pending' }),
      expect.objectContaining({ id: payments.id, status: 'approved', decided_by: expect.any(String) as unknown }),
    ]);

    head = await logHead(sessionId);
    expect((await decide(search.id, { decision: 'approve' })).status).toBe(200);
    const second = await followSessionLog(stack, sessionId, head, endsTurn);
    expect(second.at(-1)).toMatchObject({ kind: 'turn', state: 'completed' });
  });
});

describe('push notifications of a workflow approved through the API', () => {
  it('the paused turn’s orchestrator task goes on, so its push subscriber hears how the workflow ends', async () => {
    const hooks = await startPushReceiver();
    try {
      const { sessionId, events } = await pausedTurn('Restart the billing service in staging');
      const taskId = ofType(events, 'approval_required').at(-1)?.metadata?.['task_id'];
      expect(taskId).toEqual(expect.any(String));
      // The client subscribes to its workflow's task on the orchestrator (A2A), then decides elsewhere.
      const subscribed = await fetch(`${stack.orchestrator.url}/a2a/jsonrpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'A2A-Version': '1.0', authorization: `Bearer ${AGENT_TOKEN}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'CreateTaskPushNotificationConfig', params: { taskId, url: `${hooks.url}/workflow`, token: 'client-token' } }),
      });
      expect(await subscribed.json()).not.toHaveProperty('error');
      const [approval] = await approvalsOf(sessionId);
      expect((await decide(approval!.id, { decision: 'approve' })).status).toBe(200);

      const ended = await hooks.waitFor((push) => pushedState(push) === 'TASK_STATE_COMPLETED');
      expect(ended.body).toMatchObject({ statusUpdate: { taskId, contextId: sessionId } });
      expect(ended.headers['x-a2a-notification-token']).toBe('client-token');
      expect(hooks.received.map(pushedState)).toEqual(['TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    } finally {
      await hooks.close();
    }
  });
});

describe('deadlines survive an orchestrator restart', () => {
  // Each case: pause with a 2 s deadline, kill the orchestrator, let the gateway's sweeper expire the
  // approval while no orchestrator is up, start one again: it takes the expiry up (the approval store's
  // durable wake-up) and the workflow goes on as the timeout action says.
  it.each([
    { action: 'reject', ending: { state: 'rejected', code: 'approval_rejected' }, acts: false },
    { action: 'approve', ending: { state: 'completed' }, acts: true },
    { action: 'fail', ending: { state: 'failed' }, acts: false },
  ])('APPROVAL_TIMEOUT_ACTION=$action', async ({ action, ending, acts }) => {
    const service = `svc-${action}`;
    const env = { APPROVAL_TIMEOUT_SECONDS: '2', APPROVAL_TIMEOUT_ACTION: action, ORCHESTRATOR_RESUME_SCAN_MS: '200' };
    await stack.orchestrator.stop();
    await stack.restartOrchestrator(env);
    const { sessionId } = await pausedTurn(`Restart the ${service} service in staging`);
    const [approval] = await approvalsOf(sessionId);
    const head = await logHead(sessionId);
    await stack.orchestrator.kill();

    await stack.gateway.waitForLine((line) => line['msg'] === 'approval expired' && line['approval_id'] === approval!.id, 15_000);
    expect((await approvalsOf(sessionId))[0]).toMatchObject({ status: 'expired', decided_by: null });
    await stack.restartOrchestrator(env);

    const rest = await followSessionLog(stack, sessionId, head, endsTurn);
    expect(rest.at(-1)).toMatchObject({ kind: 'turn', ...ending });
    expect(decidedEvents(rest)).toEqual([expect.objectContaining({ approval_id: approval!.id, decision: 'expired' })]);
    if (action === 'fail') expect(String(rest.at(-1)?.['message'])).toContain('APPROVAL_TIMEOUT_ACTION=fail');
    const acted = stack.agents['operations']!.lines.some((line) => line.includes('acting on the approved arguments') && line.includes(`"service":"${service}"`));
    expect(acted).toBe(acts);
    // Exactly once: the resumed run said so once, and the wake-up is gone (no second resume).
    const resumes = stack.orchestrator.lines.filter((line) => line.includes('resuming a session with decided approvals') && line.includes(sessionId));
    expect(resumes).toHaveLength(1);
  }, 60_000);
});
