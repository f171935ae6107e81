import { TaskState } from '@a2a-js/sdk';
import { isA2AClientError } from '@ensemble/a2a/client';
import { OrchestratorRpcError, type ReasoningEvent } from '@ensemble/protocol';
import { RedisSessionStore } from '@ensemble/sessions/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ServiceProcess, startService, stopAllServices } from '../../../test/support/processes.js';
import { testRedis } from '../../../test/support/redis.js';
import { type OrchestratorClient, type ScriptedPlanner, orchestratorClient, plan, planNode, startScriptedPlanner } from '@ensemble/workflow/testing/harness';
import { finishedTasks, startMockAgent, startOrchestrator } from '../../../test/support/services.js';

/**
 * The orchestrator as a real process against real mock-agent processes, sim-llm for the synthesis, the
 * machine's Redis (this file's own key prefix) and a scripted planning agent: the workflow behaviours
 * of issue 4, end to end over A2A.
 */
const redis = testRedis();
const TOKEN = 'orchestrator-test-token';
const sessions = new RedisSessionStore(redis.redis, { keyPrefix: redis.prefix });

let planner: ScriptedPlanner;
let llm: ServiceProcess;
const agents: Record<string, ServiceProcess> = {};
let orchestrator: ServiceProcess;
let client: OrchestratorClient;
let agentUrls: string[];

const orchestratorEnv = () => ({ agentUrls, redisUrl: redis.url, prefix: redis.prefix, llmUrl: llm.url, token: TOKEN });

beforeAll(async () => {
  planner = await startScriptedPlanner();
  const [sim, ...mocks] = await Promise.all([
    startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } }),
    startMockAgent({ name: 'alpha', delayMs: 300, statusUpdates: ['alpha is looking'] }),
    startMockAgent({ name: 'beta', delayMs: 300 }),
    startMockAgent({ name: 'broken', failure: { mode: 'always', message: 'broken on purpose' } }),
    startMockAgent({ name: 'replanner', reply: 'partial answer', data: { replan: { reason: 'needs a follow-up step' } } }),
    startMockAgent({ name: 'approver', reply: 'deployed {{input}}', failure: { mode: 'approval', summary: 'Deploy {{input}} to production' } }),
    startMockAgent({ name: 'slow', delayMs: 2_500 }),
  ]);
  llm = sim!;
  for (const mock of mocks) agents[mock.name.replace(/^mock-/, '')] = mock;
  agentUrls = [planner.url, ...mocks.map((mock) => mock.url)];
  orchestrator = await startOrchestrator('orchestrator', { ...orchestratorEnv(), extra: { ORCHESTRATOR_RESUME_SCAN_MS: '0' } });
  client = await orchestratorClient(orchestrator.url, TOKEN);
}, 120_000);

afterAll(async () => {
  await stopAllServices();
  await planner?.stop();
  await redis.cleanup();
});

const ofType = (events: ReasoningEvent[], type: ReasoningEvent['type'], node?: string) => events.filter((event) => event.type === type && (node === undefined || event.node === node));
const indexOf = (events: ReasoningEvent[], type: ReasoningEvent['type'], node: string) => events.findIndex((event) => event.type === type && event.node === node);

describe('orchestrator workflows', () => {
  it('runs independent nodes concurrently, feeds a dependency its inputs, and streams a synthesised answer', async () => {
    planner.scripts.set('parallel', {
      plan: plan(
        planNode('a', 'alpha', 'first part'),
        planNode('b', 'beta', 'second part'),
        planNode('c', 'alpha', 'combine {{nodes.a.output}} and {{nodes.b.output}}', { dependsOn: ['a', 'b'] }),
      ),
    });
    const turn = await client.send({ text: '[parallel] compare two things' });

    expect(turn.finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(turn.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(turn.firstEventContextId).toBe(turn.sessionId);
    const types = turn.events.map((event) => event.type);
    expect(types[0]).toBe('planning');
    expect(types).toContain('plan_ready');
    expect(types.at(-1)).toBe('synthesis');
    // Stable order: sequence numbers strictly increase.
    const sequences = turn.events.map((event) => event.sequence ?? -1);
    expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
    expect(new Set(sequences).size).toBe(sequences.length);

    // Both started before either finished: they overlapped.
    const firstCompletion = Math.min(indexOf(turn.events, 'node_completed', 'a'), indexOf(turn.events, 'node_completed', 'b'));
    expect(indexOf(turn.events, 'node_started', 'a')).toBeLessThan(firstCompletion);
    expect(indexOf(turn.events, 'node_started', 'b')).toBeLessThan(firstCompletion);
    // The dependency waited for both, and received both outputs.
    expect(indexOf(turn.events, 'node_started', 'c')).toBeGreaterThan(Math.max(indexOf(turn.events, 'node_completed', 'a'), indexOf(turn.events, 'node_completed', 'b')));
    expect(ofType(turn.events, 'node_completed', 'c')[0]?.message).toBe('alpha(combine alpha(first part) and beta(second part))');
    // Agent progress is forwarded, attributed to the agent and the node.
    expect(turn.events).toContainEqual(expect.objectContaining({ type: 'status', agent: 'alpha', node: 'a', message: 'alpha is looking' }));
    expect(ofType(turn.events, 'node_started', 'b')[0]?.agent).toBe('beta');

    // The answer came from the LLM, token by token, over the node results.
    expect(turn.answer.length).toBeGreaterThan(20);
    expect(turn.answerChunks).toBeGreaterThan(1);
    const requests = (await (await fetch(`${llm.url}/_sim/requests`)).json()) as { requests: { body: { messages: { content: string }[] } }[] };
    const prompt = JSON.stringify(requests.requests.at(-1)?.body.messages ?? requests.requests.at(-1));
    expect(prompt).toContain('alpha(combine alpha(first part) and beta(second part))');

    // Finished sessions are deleted; the answer is kept for a re-sent request.
    await expect(sessions.get(turn.sessionId!, 'user-1')).rejects.toMatchObject({ wireCode: 'session_finished' });
    const replay = await client.send({ sessionId: turn.sessionId!, resume: true });
    expect(replay.finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(replay.answer).toBe(turn.answer);
  });

  it('skips a branch whose condition is false', async () => {
    const betaBefore = finishedTasks(agents['beta']!);
    planner.scripts.set('condition', {
      plan: plan(
        planNode('a', 'alpha', 'check'),
        planNode('b', 'beta', 'only if nope', { dependsOn: ['a'], condition: { node: 'a', operator: 'contains', value: 'nope' } }),
        planNode('c', 'alpha', 'only if alpha', { dependsOn: ['a'], condition: { node: 'a', operator: 'contains', value: 'alpha(' } }),
      ),
    });
    const turn = await client.send({ text: '[condition] branch' });
    expect(turn.finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(ofType(turn.events, 'node_skipped', 'b')[0]?.message).toMatch(/condition not met/);
    expect(ofType(turn.events, 'node_started', 'b')).toHaveLength(0);
    expect(ofType(turn.events, 'node_completed', 'c')).toHaveLength(1);
    expect(finishedTasks(agents['beta']!)).toBe(betaBefore);
  });

  it('re-plans when an agent asks for it and runs the added node', async () => {
    planner.scripts.set('replan', {
      plan: plan(planNode('first', 'replanner', 'start')),
      onReplan: [planNode('followup', 'beta', 'follow up on {{nodes.first.output}}', { dependsOn: ['first'] })],
    });
    const turn = await client.send({ text: '[replan] something that needs a second step' });
    expect(turn.finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    const replanned = ofType(turn.events, 'replanned')[0];
    expect(replanned).toMatchObject({ message: 'needs a follow-up step', metadata: { after: 'first', added: ['followup'] } });
    expect(ofType(turn.events, 'node_completed', 'followup')[0]?.message).toContain('beta(follow up on partial answer');
    const replanRequest = planner.requests.find((request) => request.replan !== undefined);
    expect(replanRequest?.replan?.results['first']?.status).toBe('completed');
  });

  it('does not repeat a task the agent failed (a definitive answer), and falls back to another agent', async () => {
    const brokenBefore = finishedTasks(agents['broken']!, 'failed');
    planner.scripts.set('fallback', {
      plan: plan(planNode('x', 'broken', 'try this', { retry: { maxAttempts: 2, backoffMs: 50 }, fallbackAgent: 'alpha' })),
    });
    const turn = await client.send({ text: '[fallback] flaky' });
    expect(turn.finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    const retries = ofType(turn.events, 'node_retrying', 'x');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ agent: 'alpha', metadata: { fallback: true, from: 'broken', to: 'alpha' } });
    expect(ofType(turn.events, 'node_completed', 'x')[0]).toMatchObject({ agent: 'alpha', message: 'alpha(try this)' });
    expect(finishedTasks(agents['broken']!, 'failed') - brokenBefore).toBe(1);
  });

  it('fails the task saying which node failed and why', async () => {
    planner.scripts.set('failure', { plan: plan(planNode('doomed', 'broken', 'fail'), planNode('after', 'alpha', '{{nodes.doomed.output}}', { dependsOn: ['doomed'] })) });
    const turn = await client.send({ text: '[failure] will not work' });
    expect(turn.finalState).toBe(TaskState.TASK_STATE_FAILED);
    expect(turn.finalText).toMatch(/Node "doomed" \(agent "broken"\) failed: .*broken on purpose/);
    // The default policy (partial) skips what cannot run, saying why; with nothing completed the workflow fails.
    expect(ofType(turn.events, 'node_skipped', 'after')[0]?.message).toMatch(/Dependency "doomed" failed: .*broken on purpose/);
  });

  it('refuses a second request on a busy session with a conflict error', async () => {
    planner.scripts.set('busy', { plan: plan(planNode('long', 'slow', 'take your time')) });
    let rejected: unknown;
    const first = client.send({ text: '[busy] long job' }, (transcript, event) => {
      if (event.kind === 'status' && transcript.events.at(-1)?.type === 'plan_ready' && rejected === undefined) {
        rejected = client.send({ sessionId: transcript.sessionId!, text: 'again' }).then(
          () => new Error('second request was accepted'),
          (error: unknown) => error,
        );
      }
    });
    const turn = await first;
    expect(turn.finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    const error = await rejected;
    expect(isA2AClientError(error)).toBe(true);
    expect(isA2AClientError(error) && error.rpcCode).toBe(OrchestratorRpcError.sessionBusy);
  });

  it('answers an unknown session with not-found when the caller resumes, and hides other owners’ sessions', async () => {
    const missing = await client.send({ sessionId: '00000000-0000-4000-8000-000000000000', resume: true }).catch((error: unknown) => error);
    expect(isA2AClientError(missing) && missing.rpcCode).toBe(OrchestratorRpcError.sessionNotFound);

    planner.scripts.set('owner', { plan: plan(planNode('a', 'alpha', 'mine')) });
    const turn = await client.send({ text: '[owner] private', principal: 'owner-a' });
    const foreign = await client.send({ sessionId: turn.sessionId!, resume: true, principal: 'owner-b' }).catch((error: unknown) => error);
    expect(isA2AClientError(foreign) && foreign.rpcCode).toBe(OrchestratorRpcError.sessionNotFound);
  });

  it('cancels a running workflow: the agent task is canceled and the session deleted', async () => {
    planner.scripts.set('cancel', { plan: plan(planNode('long', 'slow', 'forever')) });
    const canceledBefore = finishedTasks(agents['slow']!, 'canceled');
    let cancel: Promise<unknown> | undefined;
    const turn = await client.send({ text: '[cancel] stop me' }, (transcript) => {
      if (cancel === undefined && transcript.events.at(-1)?.type === 'node_started') cancel = client.client.cancelTask(transcript.taskId!);
    });
    await cancel;
    expect(turn.finalState).toBe(TaskState.TASK_STATE_CANCELED);
    await agents['slow']!.waitForLine((line) => line['msg'] === 'task finished' && line['state'] === 'canceled' && finishedTasks(agents['slow']!, 'canceled') > canceledBefore, 10_000);
    // CANCELED is published at once; the run then unwinds (its agent tasks cancelled) and finishes the session.
    await orchestrator.waitForLine((line) => line['msg'] === 'workflow finished' && line['session_id'] === turn.sessionId && line['status'] === 'cancelled', 10_000);
    await expect(sessions.get(turn.sessionId!, 'user-1')).rejects.toMatchObject({ details: { status: 'cancelled' } });
  });

  it('pauses on an agent’s approval request and resumes the same agent task when approved', async () => {
    planner.scripts.set('approval', {
      plan: plan(planNode('prep', 'alpha', 'prepare'), planNode('deploy', 'approver', 'release 1.2', { dependsOn: ['prep'] })),
    });
    const paused = await client.send({ text: '[approval] ship it' });
    expect(paused.finalState).toBe(TaskState.TASK_STATE_AUTH_REQUIRED);
    expect(paused.finalText).toMatch(/Node "deploy" \(agent "approver"\) asks: .*Deploy release 1.2 to production/);
    // The agent's own prompt is quoted without its framing: "Approval needed" and how to answer, once.
    expect(paused.finalText.match(/Approval needed/g)).toHaveLength(1);
    expect(paused.finalText.match(/Reply "approve" or "reject"/g)).toHaveLength(1);
    expect(ofType(paused.events, 'approval_required', 'deploy')).toHaveLength(1);
    const stored = await sessions.get(paused.sessionId!, 'user-1');
    expect(stored.status).toBe('waiting_approval');
    expect(stored.nodes['deploy']).toMatchObject({ status: 'waiting_approval', agent: 'approver' });
    expect(stored.approvalContext).toMatchObject({ nodes: [{ node: 'deploy', agent: 'approver', agentTaskId: stored.nodes['deploy']?.taskId }] });
    const alphaBefore = finishedTasks(agents['alpha']!);

    const resumed = await client.send({ sessionId: paused.sessionId!, taskId: paused.taskId!, data: { approval: { decision: 'approve', comment: 'go' } } });
    expect(resumed.finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(ofType(resumed.events, 'node_completed', 'deploy')[0]?.message).toBe('deployed release 1.2');
    // The finished node was not run again, and the approver continued its own task (one task, completed).
    expect(ofType(resumed.events, 'node_started', 'prep')).toHaveLength(0);
    expect(finishedTasks(agents['alpha']!)).toBe(alphaBefore);
    expect(finishedTasks(agents['approver']!)).toBe(1);
  });
});

describe('durability', () => {
  it('resumes a session in another orchestrator after a crash without re-running finished nodes', async () => {
    planner.scripts.set('crash', { plan: plan(planNode('quick', 'alpha', 'quick step'), planNode('long', 'slow', 'after {{nodes.quick.output}}', { dependsOn: ['quick'] })) });
    const fastLease = { SESSION_LEASE_MS: '1500', ORCHESTRATOR_RESUME_SCAN_MS: '0' };
    const doomed = await startOrchestrator('orchestrator-doomed', { ...orchestratorEnv(), extra: fastLease });
    const doomedClient = await orchestratorClient(doomed.url, TOKEN);
    const alphaBefore = finishedTasks(agents['alpha']!);
    let sessionId: string | undefined;
    let killed: Promise<void> | undefined;
    await doomedClient
      .send({ text: '[crash] survive this' }, (transcript) => {
        sessionId = transcript.sessionId;
        if (killed === undefined && transcript.events.at(-1)?.type === 'node_started' && transcript.events.at(-1)?.node === 'long') killed = doomed.kill();
      })
      .catch(() => undefined); // the stream breaks when the process dies
    await killed;
    expect(sessionId).toBeDefined();
    const saved = await sessions.get(sessionId!, 'user-1');
    expect(saved.nodes['quick']?.status).toBe('completed');
    expect(saved.nodes['long']?.status).toBe('running');

    // A new orchestrator scanning for orphans picks it up once the dead one's lease expires.
    const rescuer = await startOrchestrator('orchestrator-rescuer', { ...orchestratorEnv(), extra: { SESSION_LEASE_MS: '1500', ORCHESTRATOR_RESUME_SCAN_MS: '200' } });
    const ended = await rescuer.waitForLine((line) => line['msg'] === 'background resume ended' && line['session_id'] === sessionId, 30_000);
    expect(ended['outcome']).toBe('completed');

    const rescuerClient = await orchestratorClient(rescuer.url, TOKEN);
    const replay = await rescuerClient.send({ sessionId: sessionId!, resume: true });
    expect(replay.finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(replay.answer.length).toBeGreaterThan(20);
    // "quick" ran once, before the crash.
    expect(finishedTasks(agents['alpha']!) - alphaBefore).toBe(1);
    await rescuer.stop();
  }, 60_000);

  it('resumes live when the client re-sends its session id after a crash', async () => {
    planner.scripts.set('resend', { plan: plan(planNode('one', 'alpha', 'one'), planNode('two', 'slow', 'two', { dependsOn: ['one'] })) });
    const doomed = await startOrchestrator('orchestrator-doomed-2', { ...orchestratorEnv(), extra: { SESSION_LEASE_MS: '1500', ORCHESTRATOR_RESUME_SCAN_MS: '0' } });
    const doomedClient = await orchestratorClient(doomed.url, TOKEN);
    const alphaBefore = finishedTasks(agents['alpha']!);
    let sessionId: string | undefined;
    let killed: Promise<void> | undefined;
    await doomedClient
      .send({ text: '[resend] again' }, (transcript) => {
        sessionId = transcript.sessionId;
        if (killed === undefined && transcript.events.at(-1)?.type === 'node_started' && transcript.events.at(-1)?.node === 'two') killed = doomed.kill();
      })
      .catch(() => undefined);
    await killed;

    // While the dead orchestrator's lease lasts, the session is busy; once it expires it resumes here, live.
    const busy = await client.send({ sessionId: sessionId!, resume: true }).catch((error: unknown) => error);
    expect(isA2AClientError(busy) && busy.rpcCode).toBe(OrchestratorRpcError.sessionBusy);
    // The dead owner's lease runs out (moved to a past time: Redis's clock cannot be injected).
    const lock = `${redis.prefix}session:${sessionId!}:lock`;
    expect(await redis.redis.pttl(lock)).toBeGreaterThan(0);
    await redis.redis.pexpireat(lock, 1);
    const turn = await client.send({ sessionId: sessionId!, resume: true });
    expect(turn.finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(turn.events.map((event) => event.type)).toContain('status');
    expect(ofType(turn.events, 'node_started', 'one')).toHaveLength(0);
    expect(ofType(turn.events, 'node_completed', 'two')).toHaveLength(1);
    expect(finishedTasks(agents['alpha']!) - alphaBefore).toBe(1);
  }, 60_000);

  it('shuts down cleanly when stopped as soon as it listens, leaving no replica announcement behind', async () => {
    const early = await startOrchestrator('orchestrator-early', orchestratorEnv());
    // Signalled right after `listening`: the handler is in place, so the process withdraws and drains.
    await early.stop();
    expect(early.child.exitCode).toBe(0);
    expect(early.lines.some((line) => line.includes('"msg":"shutting down"'))).toBe(true);
    expect(await redis.redis.zscore(`${redis.prefix}replicas:orchestrator`, early.url)).toBeNull();
  });
});
