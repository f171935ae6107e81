import { type EnsembleChatCompletion, reasoningEventOf } from '@ensemble/openai-a2a';
import { OrchestratorMetadataKey, type ReasoningEvent, type SessionView } from '@ensemble/protocol';
import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { finishedTasks } from '../support/services.js';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ServiceProcess, stopAllServices } from '../support/processes.js';
import { ORCHESTRATE, OTHER_API_TOKEN, type Stack, type StreamTranscript, indexOf, ofType, readStream, startStack } from './support/stack.js';

/**
 * Human approval through the gateway, as an OpenAI client lives it (the official `openai` SDK against
 * real processes): a node whose agent answers `auth-required` pauses the workflow and the turn ends with
 * an `approval_required` reasoning event; the client answers with a follow-up turn on the same
 * `X-Session-ID` ("approve ..." or "reject ..."), and the orchestrator carries the decision to the agent
 * on the agent's own paused task. Nodes that had finished are never run again.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    agents: [
      { name: 'builder', delayMs: 50 },
      // Asks before acting; a rejection ends its task `rejected` (the mock's default).
      { name: 'deployer', delayMs: 100, reply: 'deployed {{input}}', failure: { mode: 'approval', summary: 'Deploy {{input}} to production' } },
    ],
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stopAllServices();
});

/** build -> deploy (asks for approval) -> announce, uniquely tagged so each test plans its own. */
function releasePlan(release: string) {
  return plan(
    planNode('build', 'builder', `build ${release}`),
    planNode('deploy', 'deployer', `release ${release}`, { dependsOn: ['build'] }),
    planNode('announce', 'builder', 'announce {{nodes.deploy.output}}', { dependsOn: ['deploy'] }),
  );
}

/** The session id from a response, as the client reads it. */
function sessionOf(headers: Headers): string {
  const id = headers.get('x-session-id');
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return id!;
}

/** Streams a turn to the end; a turn that ends in an error keeps what was read before it. */
async function streamTurn(messages: ChatCompletionMessageParam[], sessionId?: string): Promise<{ transcript: StreamTranscript; sessionId: string; error: unknown }> {
  const headers = { ...ORCHESTRATE, ...(sessionId === undefined ? {} : { 'X-Session-ID': sessionId }) };
  const { data, response } = await stack.openai.chat.completions.create({ model: 'ensemble', messages, stream: true }, { headers }).withResponse();
  let transcript: StreamTranscript = { chunks: [], content: '', events: [], finishReason: undefined };
  let error: unknown;
  await readStream(data, (_chunk, seen) => {
    transcript = seen;
  }).catch((caught: unknown) => {
    error = caught;
  });
  return { transcript, sessionId: sessionOf(response.headers), error };
}

/** `GET /v1/sessions/{id}`: the view, or (for a finished session) the OpenAI error object saying so. */
async function sessionView(id: string): Promise<{ status: number; body: SessionView & { error?: { code: string; message: string } } }> {
  const response = await stack.request(`/v1/sessions/${id}`);
  return { status: response.status, body: (await response.json()) as SessionView & { error?: { code: string; message: string } } };
}

/** The id of the agent task a node paused on, from the node's `approval_required` event. */
function pausedAgentTask(events: readonly ReasoningEvent[], node: string): string {
  const taskId = ofType(events, 'approval_required', node)[0]?.metadata?.[OrchestratorMetadataKey.agentTaskId];
  expect(taskId, 'the node-level approval_required event names the agent task').toEqual(expect.any(String));
  return taskId as string;
}

/** The agent's own log lines about one task (the kit puts `task_id` on every line in a task's scope). */
function taskLines(agent: ServiceProcess, taskId: string): Record<string, unknown>[] {
  return agent.lines.flatMap((text) => {
    try {
      const line = JSON.parse(text) as Record<string, unknown>;
      return line['task_id'] === taskId ? [line] : [];
    } catch {
      return [];
    }
  });
}

/** Every distinct task the agent's logs mention that started after `skip` log lines. */
function tasksSince(agent: ServiceProcess, skip: number): Set<string> {
  const ids = new Set<string>();
  for (const text of agent.lines.slice(skip)) {
    try {
      const id = (JSON.parse(text) as Record<string, unknown>)['task_id'];
      if (typeof id === 'string') ids.add(id);
    } catch {
      // not a JSON log line
    }
  }
  return ids;
}

/** The assertions every paused turn must pass, streamed or not. */
function expectPaused(events: readonly ReasoningEvent[], content: string, sessionId: string, release: string): void {
  // The node said what it needs, attributed to its agent.
  const nodeEvent = ofType(events, 'approval_required', 'deploy')[0];
  expect(nodeEvent).toMatchObject({ agent: 'deployer', node: 'deploy' });
  expect(nodeEvent?.message).toContain(`Deploy release ${release} to production`);
  // The turn's last event is the workflow's own approval request, naming node, agent and question.
  const last = events.at(-1);
  expect(last?.type).toBe('approval_required');
  expect(last?.message).toMatch(new RegExp(`Node "deploy" \\(agent "deployer"\\) asks: .*Deploy release ${release.replace(/\./g, '\\.')} to production`));
  expect(last?.metadata).toMatchObject({ state: 'auth-required', context_id: sessionId });
  // The client that only prints content sees the question too.
  expect(content).toContain(`Deploy release ${release} to production`);
  // Finished before the pause; nothing after it started.
  expect(ofType(events, 'node_completed', 'build')[0]).toMatchObject({ agent: 'builder', message: `builder(build ${release})` });
  expect(ofType(events, 'node_started', 'announce')).toHaveLength(0);
  expect(ofType(events, 'synthesis')).toHaveLength(0);
}

async function expectWaitingSession(sessionId: string, release: string): Promise<void> {
  const { status, body } = await sessionView(sessionId);
  expect(status).toBe(200);
  expect(body).toMatchObject({ object: 'session', id: sessionId, status: 'waiting_approval', current_nodes: [] });
  expect(body.nodes['build']).toMatchObject({ status: 'completed', output: `builder(build ${release})` });
  expect(body.nodes['deploy']).toMatchObject({ status: 'waiting_approval', agent: 'deployer' });
  expect(body.nodes['announce']).toBeUndefined();
  expect(body.approval).toEqual({
    nodes: [{ node: 'deploy', agent: 'deployer', question: expect.stringContaining(`Deploy release ${release} to production`) as string }],
  });
}

describe('approval through the gateway (streaming)', () => {
  it('pauses with approval_required, then resumes the same agent task when the client approves', async () => {
    await stack.pinPlan('[ship-stream]', releasePlan('1.2'));
    const builderBefore = finishedTasks(stack.agents['builder']!);
    const deployerMark = stack.agents['deployer']!.lines.length;
    const request: ChatCompletionMessageParam[] = [{ role: 'user', content: '[ship-stream] build and ship release 1.2' }];

    const paused = await streamTurn(request);
    const { sessionId } = paused;
    expect(paused.error).toBeUndefined();
    expect(paused.transcript.finishReason).toBe('stop');
    expect(paused.transcript.chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expectPaused(paused.transcript.events, paused.transcript.content, sessionId, '1.2');
    const agentTaskId = pausedAgentTask(paused.transcript.events, 'deploy');
    await stack.agents['deployer']!.waitForLine((line) => line['msg'] === 'task waiting for approval' && line['task_id'] === agentTaskId);
    await expectWaitingSession(sessionId, '1.2');
    expect(finishedTasks(stack.agents['builder']!) - builderBefore).toBe(1);

    // The client answers as a chat client does: the conversation so far plus its decision.
    const approved = await streamTurn(
      [...request, { role: 'assistant', content: paused.transcript.content }, { role: 'user', content: 'approve: change window confirmed' }],
      sessionId,
    );
    expect(approved.error).toBeUndefined();
    expect(approved.sessionId).toBe(sessionId);
    const { events, content } = approved.transcript;
    expect(approved.transcript.finishReason).toBe('stop');

    // The decision and its comment reached the agent, on the task it paused.
    expect(events).toContainEqual(expect.objectContaining({ type: 'status', agent: 'deployer', node: 'deploy', message: 'Approved: change window confirmed; continuing' }));
    expect(ofType(events, 'node_completed', 'deploy')[0]).toMatchObject({ agent: 'deployer', message: 'deployed release 1.2' });
    await stack.agents['deployer']!.waitForLine((line) => line['msg'] === 'task finished' && line['task_id'] === agentTaskId && line['state'] === 'completed');
    expect(taskLines(stack.agents['deployer']!, agentTaskId)).toContainEqual(expect.objectContaining({ msg: 'approval answered', decision: 'approve' }));
    expect([...tasksSince(stack.agents['deployer']!, deployerMark)]).toEqual([agentTaskId]);

    // The finished node was not run again; the rest of the plan ran on the approved output.
    expect(ofType(events, 'node_started', 'build')).toHaveLength(0);
    expect(ofType(events, 'node_completed', 'announce')[0]?.message).toBe('builder(announce deployed release 1.2)');
    expect(indexOf(events, 'node_started', 'announce')).toBeGreaterThan(indexOf(events, 'node_completed', 'deploy'));
    expect(finishedTasks(stack.agents['builder']!) - builderBefore).toBe(2);
    expect(ofType(events, 'approval_required')).toHaveLength(0);

    // The answer streams after the synthesis event.
    expect(content).toContain('[sim-llm]');
    const { chunks } = approved.transcript;
    const firstContent = chunks.findIndex((chunk) => (chunk.choices[0]?.delta.content ?? '') !== '');
    expect(firstContent).toBeGreaterThan(chunks.findIndex((chunk) => reasoningEventOf(chunk)?.type === 'synthesis'));

    // The session finished: it is deleted, and asking for it says so.
    expect((await sessionView(sessionId)).body.error?.code).toBe('session_finished');
  });

  it('ends the workflow with approval_rejected when the client rejects, as an error the SDK raises', async () => {
    await stack.pinPlan('[ship-reject]', releasePlan('6.6'));
    const builderBefore = finishedTasks(stack.agents['builder']!);
    const request: ChatCompletionMessageParam[] = [{ role: 'user', content: '[ship-reject] build and ship release 6.6' }];

    const paused = await streamTurn(request);
    expect(paused.error).toBeUndefined();
    expectPaused(paused.transcript.events, paused.transcript.content, paused.sessionId, '6.6');
    const agentTaskId = pausedAgentTask(paused.transcript.events, 'deploy');

    const rejected = await streamTurn(
      [...request, { role: 'assistant', content: paused.transcript.content }, { role: 'user', content: 'reject: not during the freeze' }],
      paused.sessionId,
    );
    // The user's own "no" is not an agent fault: an error chunk the SDK raises with code
    // approval_rejected (not agent_failed), naming the node and the human's reason.
    expect(rejected.error).toBeInstanceOf(APIError);
    const error = rejected.error as APIError;
    expect(error.message).toBe('Node "deploy" (agent "deployer") did not proceed: Approval rejected: not during the freeze');
    expect(error.code).toBe('approval_rejected');
    expect(error.type).toBe('permission_error');

    // The progress before it says which node failed and why, with the engine's code.
    const { events } = rejected.transcript;
    expect(ofType(events, 'node_failed', 'deploy')[0]).toMatchObject({
      agent: 'deployer',
      message: 'Approval rejected: not during the freeze',
      metadata: { error: { code: 'approval_rejected' } },
    });
    expect(ofType(events, 'node_started', 'announce')).toHaveLength(0);
    expect(ofType(events, 'node_started', 'build')).toHaveLength(0);
    expect(ofType(events, 'synthesis')).toHaveLength(0);
    expect(events.at(-1)).toMatchObject({ type: 'error', metadata: { state: 'rejected', code: 'approval_rejected' } });

    // The agent got the rejection on its paused task and ended that task, without doing the work.
    await stack.agents['deployer']!.waitForLine((line) => line['msg'] === 'task finished' && line['task_id'] === agentTaskId);
    const lines = taskLines(stack.agents['deployer']!, agentTaskId);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'approval answered', decision: 'reject' }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'task finished', state: 'rejected', reason: 'Rejected by the approver: not during the freeze' }));
    expect(finishedTasks(stack.agents['builder']!) - builderBefore).toBe(1);

    // The session is finished as failed.
    const gone = await sessionView(paused.sessionId);
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 'session_finished', message: expect.stringMatching(/failed/) as string });
  });
});

describe('approval through the gateway (non-streaming)', () => {
  it('answers the pause as one chat.completion, asks again for a non-decision, and completes when approved', async () => {
    await stack.pinPlan('[ship-block]', releasePlan('2.0'));
    const deployerMark = stack.agents['deployer']!.lines.length;
    const request: ChatCompletionMessageParam[] = [{ role: 'user', content: '[ship-block] build and ship release 2.0' }];

    const first = await stack.openai.chat.completions.create({ model: 'ensemble', messages: request }, { headers: ORCHESTRATE }).withResponse();
    const sessionId = sessionOf(first.response.headers);
    const pause = first.data as EnsembleChatCompletion;
    expect(first.response.status).toBe(200);
    expect(pause).toMatchObject({ object: 'chat.completion', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant' } }] });
    const question = pause.choices[0]?.message.content ?? '';
    expectPaused(pause.choices[0]?.message.reasoning_events ?? [], question, sessionId, '2.0');
    const agentTaskId = pausedAgentTask(pause.choices[0]?.message.reasoning_events ?? [], 'deploy');
    await expectWaitingSession(sessionId, '2.0');

    // Another caller cannot answer it: for them the session does not exist.
    const other = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: OTHER_API_TOKEN, maxRetries: 0 });
    const foreign = await other.chat.completions
      .create({ model: 'ensemble', messages: [{ role: 'user', content: 'approve' }] }, { headers: { ...ORCHESTRATE, 'X-Session-ID': sessionId } })
      .catch((error: unknown) => error);
    expect(foreign).toBeInstanceOf(APIError);
    expect(foreign).toMatchObject({ status: 404, code: 'session_not_found' });

    // Something that is not a decision gets the question again; the workflow stays paused.
    const conversation: ChatCompletionMessageParam[] = [...request, { role: 'assistant', content: question }, { role: 'user', content: 'which servers does this touch?' }];
    const again = (await stack.openai.chat.completions.create({ model: 'ensemble', messages: conversation }, { headers: { ...ORCHESTRATE, 'X-Session-ID': sessionId } })) as EnsembleChatCompletion;
    expect(again.choices[0]?.finish_reason).toBe('stop');
    expect((again.choices[0]?.message.reasoning_events ?? []).at(-1)).toMatchObject({ type: 'approval_required' });
    expect((again.choices[0]?.message.reasoning_events ?? []).at(-1)?.message).toMatch(/Node "deploy" \(agent "deployer"\) asks: .*Deploy release 2\.0 to production/);
    expect(ofType(again.choices[0]?.message.reasoning_events ?? [], 'node_started')).toHaveLength(0);
    await expectWaitingSession(sessionId, '2.0');

    // A plain "Approved." (no comment) resumes it.
    const done = await stack.openai.chat.completions
      .create({ model: 'ensemble', messages: [...conversation, { role: 'assistant', content: again.choices[0]?.message.content ?? '' }, { role: 'user', content: 'Approved.' }] }, { headers: { ...ORCHESTRATE, 'X-Session-ID': sessionId } })
      .withResponse();
    const completion = done.data as EnsembleChatCompletion;
    expect(done.response.status).toBe(200);
    expect(done.response.headers.get('x-session-id')).toBe(sessionId);
    expect(completion.choices[0]).toMatchObject({ finish_reason: 'stop', message: { role: 'assistant', content: expect.stringContaining('[sim-llm]') as string } });
    expect(completion.choices[0]?.message.reasoning_events ?? []).toContainEqual(expect.objectContaining({ type: 'status', agent: 'deployer', node: 'deploy', message: 'Approved; continuing' }));
    expect(ofType(completion.choices[0]?.message.reasoning_events ?? [], 'node_completed', 'deploy')[0]?.message).toBe('deployed release 2.0');
    expect(ofType(completion.choices[0]?.message.reasoning_events ?? [], 'node_completed', 'announce')[0]?.message).toBe('builder(announce deployed release 2.0)');
    expect(ofType(completion.choices[0]?.message.reasoning_events ?? [], 'node_started', 'build')).toHaveLength(0);

    await stack.agents['deployer']!.waitForLine((line) => line['msg'] === 'task finished' && line['task_id'] === agentTaskId && line['state'] === 'completed');
    expect([...tasksSince(stack.agents['deployer']!, deployerMark)]).toEqual([agentTaskId]);
  });

  it('answers a rejection with a 403 approval_rejected error object naming the node and the reason', async () => {
    await stack.pinPlan('[ship-block-reject]', releasePlan('3.0'));
    const request: ChatCompletionMessageParam[] = [{ role: 'user', content: '[ship-block-reject] build and ship release 3.0' }];
    const first = await stack.openai.chat.completions.create({ model: 'ensemble', messages: request }, { headers: ORCHESTRATE }).withResponse();
    const sessionId = sessionOf(first.response.headers);
    const agentTaskId = pausedAgentTask((first.data as EnsembleChatCompletion).choices[0]?.message.reasoning_events ?? [], 'deploy');

    const outcome = await stack.openai.chat.completions
      .create({ model: 'ensemble', messages: [...request, { role: 'user', content: 'REJECTED - wrong build' }] }, { headers: { ...ORCHESTRATE, 'X-Session-ID': sessionId } })
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(APIError);
    const error = outcome as APIError;
    // The approver said no: a client error about authorisation (403), not a bad gateway (502).
    expect(error.status).toBe(403);
    expect(error.code).toBe('approval_rejected');
    expect(error.type).toBe('permission_error');
    expect(error.message).toMatch(/Node "deploy" \(agent "deployer"\) did not proceed: Approval rejected: wrong build$/);
    expect(JSON.stringify(error.error)).not.toMatch(/\bat .*\.ts:\d+/);
    await stack.agents['deployer']!.waitForLine((line) => line['msg'] === 'task finished' && line['task_id'] === agentTaskId && line['state'] === 'rejected');
    expect((await sessionView(sessionId)).body.error?.code).toBe('session_finished');
  });
});

describe('the follow-up a client sends as the README describes it', () => {
  it('reaches the paused workflow with only X-Session-ID (no routing header)', async () => {
    await stack.pinPlan('[ship-plain]', releasePlan('4.0'));
    const request: ChatCompletionMessageParam[] = [{ role: 'user', content: '[ship-plain] build and ship release 4.0' }];
    const paused = await streamTurn(request);
    expect(paused.error).toBeUndefined();
    const agentTaskId = pausedAgentTask(paused.transcript.events, 'deploy');

    // No X-Routing-Mode: the session id alone says this turn belongs to the orchestrator's session.
    const { data, response } = await stack.openai.chat.completions
      .create(
        { model: 'ensemble', messages: [...request, { role: 'assistant', content: paused.transcript.content }, { role: 'user', content: 'approve' }], stream: true },
        { headers: { 'X-Session-ID': paused.sessionId } },
      )
      .withResponse();
    const transcript = await readStream(data);
    expect(response.headers.get('x-routing-decision'), 'a turn carrying the id of an orchestrated session must reach the orchestrator').toMatch(/^orchestration/);
    expect(ofType(transcript.events, 'node_completed', 'deploy')[0]?.message).toBe('deployed release 4.0');
    await stack.agents['deployer']!.waitForLine((line) => line['msg'] === 'task finished' && line['task_id'] === agentTaskId && line['state'] === 'completed');
  });
});

describe('approval through the approvals API (no chat client connected)', () => {
  it('records the pause, approves via POST /v1/approvals/{id}, and the workflow finishes in the background', async () => {
    await stack.pinPlan('[ship-api]', releasePlan('7.0'));
    const request: ChatCompletionMessageParam[] = [{ role: 'user', content: '[ship-api] build and ship release 7.0' }];
    const paused = await streamTurn(request);
    expect(paused.error).toBeUndefined();
    const { sessionId } = paused;
    const agentTaskId = pausedAgentTask(paused.transcript.events, 'deploy');
    const approvalId = ofType(paused.transcript.events, 'approval_required', 'deploy')[0]?.metadata?.['approval_id'];
    expect(approvalId).toEqual(expect.any(String));

    const listed = (await (await stack.request(`/v1/sessions/${sessionId}/approvals`)).json()) as { data: Record<string, unknown>[] };
    expect(listed.data).toEqual([expect.objectContaining({ object: 'approval', id: approvalId, session_id: sessionId, node_id: 'deploy', agent: 'deployer', kind: 'approval', status: 'pending' })]);
    expect(String(listed.data[0]?.['action'])).toContain('Deploy release 7.0 to production');
    // Another principal sees nothing and changes nothing.
    expect((await stack.request(`/v1/approvals/${String(approvalId)}`, {}, OTHER_API_TOKEN)).status).toBe(404);
    expect((await stack.request(`/v1/approvals/${String(approvalId)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve' }) }, OTHER_API_TOKEN)).status).toBe(404);

    const decided = await stack.request(`/v1/approvals/${String(approvalId)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve', comment: 'via api' }) });
    expect(decided.status).toBe(200);
    expect(await decided.json()).toMatchObject({ id: approvalId, status: 'approved', comment: 'via api' });
    const again = await stack.request(`/v1/approvals/${String(approvalId)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'reject' }) });
    expect(again.status).toBe(409);

    // Nobody reads the session: the decision alone resumes the agent's paused task and the rest of the plan.
    await stack.agents['deployer']!.waitForLine((line) => line['msg'] === 'task finished' && line['task_id'] === agentTaskId && line['state'] === 'completed');
    expect(taskLines(stack.agents['deployer']!, agentTaskId)).toContainEqual(expect.objectContaining({ msg: 'approval answered', decision: 'approve' }));
    await stack.orchestrator.waitForLine((line) => line['msg'] === 'workflow finished' && line['session_id'] === sessionId && line['status'] === 'completed');
    expect((await sessionView(sessionId)).body.error?.code).toBe('session_finished');
    // A client that comes back gets the answer.
    const replay = await streamTurn([...request, { role: 'user', content: 'what happened?' }], sessionId);
    expect(replay.transcript.content).toContain('[sim-llm]');
  });
});
