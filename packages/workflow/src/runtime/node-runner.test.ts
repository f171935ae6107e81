import { type Task, TaskState } from '@a2a-js/sdk';
import { buildAgentCard, userMessage } from '@ensemble/a2a';
import { A2AClientError, type A2AClient, type A2AStreamEvent, type AgentInfo } from '@ensemble/a2a/client';
import { InMemoryApprovalStore } from '@ensemble/approvals';
import type { NodeRunRequest } from '@ensemble/dag';
import { ManualClock } from '@ensemble/dag/testing';
import { EnsembleError, EnsembleMetadataKey, ErrorCode, type ReasoningEvent } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import type { AgentDirectory } from './agents.js';
import { silentSink } from './events.js';
import { createNodeRunner, isNotDelivered, isRetryableNodeError } from './node-runner.js';
import { planNode, quietLogger } from '../testing/harness.js';

const card = buildAgentCard({ name: 'worker', description: 'test worker', skills: [{ id: 'work', name: 'Work', description: 'works' }] }, { baseUrl: 'http://127.0.0.1:1', bearerAuth: false, legacyCompat: false });
const info: AgentInfo = { name: 'worker', url: 'http://127.0.0.1:1', endpoint: null, status: 'available', lastChecked: null, lastError: null, card, summary: null };
const directory: AgentDirectory = { get: () => info, resolveSkill: () => undefined, skills: () => [] };

function task(id: string, state: TaskState): Task {
  return { id, contextId: 'session-1', status: { state, message: undefined, timestamp: undefined }, history: [], artifacts: [], metadata: {} };
}

function taskEvent(id: string, state: TaskState): A2AStreamEvent {
  return { kind: 'task', task: task(id, state), state, final: false };
}

/**
 * An agent whose first event (the one carrying its task id) is sent only when the test says so, like a
 * slow agent or a busy connection; records the cancels it receives and whether its stream was cut.
 */
function slowStartingAgent() {
  let sendFirst: () => void = () => undefined;
  const firstSent = new Promise<void>((resolve) => {
    sendFirst = resolve;
  });
  const cancels: string[] = [];
  let streamSignal: AbortSignal | undefined;
  const client: A2AClient = {
    card,
    agent: 'worker',
    send: () => Promise.reject(new Error('not used')),
    async *stream(_message, options) {
      streamSignal = options?.signal;
      await firstSent;
      yield taskEvent('agent-task-1', TaskState.TASK_STATE_WORKING);
      // Working until canceled (or the stream is cut).
      await new Promise<void>((resolve) => options?.signal?.addEventListener('abort', () => resolve(), { once: true }));
    },
    getTask: () => Promise.reject(new Error('not used')),
    listTasks: () => Promise.reject(new Error('not used')),
    cancelTask: (taskId) => {
      cancels.push(taskId);
      return Promise.resolve(task(taskId, TaskState.TASK_STATE_CANCELED));
    },
    subscribe: () => {
      throw new Error('not used');
    },
  };
  return { client, cancels, sendFirst: () => sendFirst(), streamAborted: () => streamSignal?.aborted === true };
}

function runRequest(signal: AbortSignal): NodeRunRequest {
  return { node: planNode('n1', 'worker', 'work'), agent: 'worker', input: 'work', attempt: 1, fallback: false, signal, approval: null, previous: null, deadline: Number.POSITIVE_INFINITY };
}

describe('node runner', () => {
  it('cancels the agent task even when the attempt is aborted before the task id arrived', async () => {
    const agent = slowStartingAgent();
    const runNode = createNodeRunner({ directory, clients: { for: () => Promise.resolve(agent.client) }, sessionId: 'session-1', sink: silentSink, onReplan: () => undefined, logger: quietLogger() });
    const attempt = new AbortController();
    const outcome = runNode(runRequest(attempt.signal));
    const settled = expect(outcome).rejects.toMatchObject({ code: 'cancelled' });
    await new Promise<void>((resolve) => setImmediate(resolve));

    attempt.abort(new Error('workflow cancelled'));
    // Nothing to cancel yet, and the stream is kept open to learn the task id.
    expect(agent.cancels).toEqual([]);
    expect(agent.streamAborted()).toBe(false);

    agent.sendFirst();
    await settled;
    expect(agent.cancels).toEqual(['agent-task-1']);
  });

  it('cancels at once and cuts the stream when the task id is known', async () => {
    const agent = slowStartingAgent();
    agent.sendFirst();
    const runNode = createNodeRunner({ directory, clients: { for: () => Promise.resolve(agent.client) }, sessionId: 'session-1', sink: silentSink, onReplan: () => undefined, logger: quietLogger() });
    const attempt = new AbortController();
    const outcome = runNode(runRequest(attempt.signal));
    const settled = expect(outcome).rejects.toMatchObject({ code: 'cancelled' });
    await new Promise<void>((resolve) => setImmediate(resolve));

    attempt.abort(new Error('timed out'));
    expect(agent.cancels).toEqual(['agent-task-1']);
    expect(agent.streamAborted()).toBe(true);
    await settled;
  });

  it('counts the tokens of every attempt, failed ones included', async () => {
    const spent: unknown[] = [];
    const failing: A2AClient = {
      ...slowStartingAgent().client,
      async *stream() {
        const failed = task('agent-task-2', TaskState.TASK_STATE_FAILED);
        yield {
          kind: 'status',
          taskId: failed.id,
          contextId: failed.contextId,
          state: TaskState.TASK_STATE_FAILED,
          message: undefined,
          text: 'model error',
          data: [],
          final: true,
          event: { taskId: failed.id, contextId: failed.contextId, status: failed.status, metadata: { [EnsembleMetadataKey.usage]: { prompt_tokens: 9, completion_tokens: 4 } } },
        };
      },
    };
    const runNode = createNodeRunner({
      directory,
      clients: { for: () => Promise.resolve(failing) },
      sessionId: 'session-1',
      sink: { ...silentSink, usage: (usage) => spent.push(usage) },
      onReplan: () => undefined,
      logger: quietLogger(),
    });
    await expect(runNode(runRequest(new AbortController().signal))).rejects.toMatchObject({ wireCode: 'agent_failed' });
    expect(spent).toEqual([{ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 }]);
  });

  it('does not call the agent for an attempt aborted before it started', async () => {
    const agent = slowStartingAgent();
    let called = false;
    const runNode = createNodeRunner({
      directory,
      clients: { for: () => Promise.resolve({ ...agent.client, stream: (...args) => ((called = true), agent.client.stream(...args)) }) },
      sessionId: 'session-1',
      sink: silentSink,
      onReplan: () => undefined,
      logger: quietLogger(),
    });
    await expect(runNode(runRequest(AbortSignal.abort(new Error('cancelled'))))).rejects.toMatchObject({ code: 'cancelled' });
    expect(called).toBe(false);
  });
});

const target = { agent: 'worker', url: 'http://127.0.0.1:1' };
const refused = () => new A2AClientError('unreachable', 'cannot connect (ECONNREFUSED)', { ...target, notDelivered: true });

/** An agent that refuses connections for its first `downFor` calls (restarting), then completes the task. */
function restartingAgent(downFor: number) {
  let calls = 0;
  const client: A2AClient = {
    card,
    agent: 'worker',
    send: () => Promise.reject(new Error('not used')),
    async *stream() {
      calls += 1;
      if (calls <= downFor) throw refused();
      yield taskEvent('agent-task-2', TaskState.TASK_STATE_WORKING);
      yield { kind: 'task', task: task('agent-task-2', TaskState.TASK_STATE_COMPLETED), state: TaskState.TASK_STATE_COMPLETED, final: true };
    },
    getTask: () => Promise.reject(new Error('not used')),
    listTasks: () => Promise.reject(new Error('not used')),
    cancelTask: (taskId) => Promise.resolve(task(taskId, TaskState.TASK_STATE_CANCELED)),
    subscribe: () => {
      throw new Error('not used');
    },
  };
  return { client, calls: () => calls };
}

describe('node runner: an agent that is restarting', () => {
  function runner(client: A2AClient, clock: ManualClock, progress: ReasoningEvent[]) {
    return createNodeRunner({
      directory,
      clients: { for: () => Promise.resolve(client) },
      sessionId: 'session-1',
      sink: { ...silentSink, progress: (event) => void progress.push(event) },
      onReplan: () => undefined,
      logger: quietLogger(),
      clock,
      random: () => 1,
    });
  }

  it('waits for it (backoff with jitter, no attempt spent) while the calls cannot have reached it, within the deadline', async () => {
    const agent = restartingAgent(4);
    const clock = new ManualClock({ autoAdvance: true });
    const progress: ReasoningEvent[] = [];
    const start = clock.now();
    const outcome = await runner(agent.client, clock, progress)({ ...runRequest(new AbortController().signal), deadline: start + 15_000 });

    expect(outcome).toMatchObject({ kind: 'completed', taskId: 'agent-task-2' });
    expect(agent.calls()).toBe(5);
    // 250, 500, 1000, 2000 ms (random() = 1: the top of each jitter range), then the agent is back.
    expect(progress.map((event) => event.metadata?.['delay_ms'])).toEqual([250, 500, 1_000, 2_000]);
    expect(progress[0]).toMatchObject({ type: 'status', node: 'n1', agent: 'worker', message: 'Agent "worker" is not reachable; trying again in 250 ms' });
    expect(clock.now() - start).toBe(3_750);
  });

  it('gives up with the connection error once the next wait would pass the deadline', async () => {
    const agent = restartingAgent(100);
    const clock = new ManualClock({ autoAdvance: true });
    const start = clock.now();
    await expect(runner(agent.client, clock, [])({ ...runRequest(new AbortController().signal), deadline: start + 2_000 })).rejects.toMatchObject({ kind: 'unreachable' });
    // Waits of 250, 500 and 1000 ms fit in 2 s; the next one (2000 ms) does not.
    expect(agent.calls()).toBe(4);
    expect(clock.now() - start).toBe(1_750);
  });

  it('stops waiting when the attempt is aborted', async () => {
    const agent = restartingAgent(100);
    const clock = new ManualClock();
    const attempt = new AbortController();
    const outcome = runner(agent.client, clock, [])({ ...runRequest(attempt.signal), deadline: clock.now() + 60_000 });
    const settled = expect(outcome).rejects.toMatchObject({ code: 'cancelled' });
    await clock.waitForSleepers((pending) => pending.length === 1);
    attempt.abort(new Error('cancelled'));
    await settled;
    expect(agent.calls()).toBe(1);
  });
});

describe('which node failures are retried', () => {
  it('retries transient failures and not definitive answers', () => {
    expect(isRetryableNodeError(refused())).toBe(true);
    expect(isRetryableNodeError(new A2AClientError('unreachable', 'connection reset (ECONNRESET)', target))).toBe(true);
    expect(isRetryableNodeError(new A2AClientError('timeout', 'slow', target))).toBe(true);
    expect(isRetryableNodeError(new EnsembleError(ErrorCode.UpstreamError, 'stopped streaming', { wireCode: 'stream_incomplete' }))).toBe(true);

    expect(isRetryableNodeError(new EnsembleError(ErrorCode.UpstreamError, 'Agent "x" failed: no such city', { wireCode: 'agent_failed' }))).toBe(false);
    expect(isRetryableNodeError(new EnsembleError(ErrorCode.Forbidden, 'Agent "x" declined', { wireCode: 'agent_rejected' }))).toBe(false);
    expect(isRetryableNodeError(new A2AClientError('protocol', 'invalid params', { ...target, rpcCode: -32602 }))).toBe(false);
    expect(isRetryableNodeError(new A2AClientError('unauthorized', 'HTTP 401', target))).toBe(false);
    expect(isRetryableNodeError(new EnsembleError(ErrorCode.InvalidRequest, 'No agent named "x"', { wireCode: 'unknown_agent' }))).toBe(false);
  });

  it('waits inside an attempt only for calls that cannot have reached the agent', () => {
    expect(isNotDelivered(refused())).toBe(true);
    expect(isNotDelivered(new A2AClientError('circuit_open', 'open', { ...target, notDelivered: true }))).toBe(true);
    expect(isNotDelivered(new A2AClientError('unavailable', 'HTTP 503', { ...target, notDelivered: true }))).toBe(true);
    // A reset may come after the agent took the task: that is the engine's (counted) retry.
    expect(isNotDelivered(new A2AClientError('unreachable', 'reset', target))).toBe(false);
    expect(isNotDelivered(new A2AClientError('unavailable', 'HTTP 502', target))).toBe(false);
  });
});

describe('node runner: resuming a node whose agent task survived a crash', () => {
  /**
   * An agent that knows the tasks in `tasks` (by id) and counts the new messages it is sent. `listed`
   * is what its `ListTasks` answers for the session; without it the agent has no such method.
   */
  function survivingAgent(tasks: Record<string, { state: TaskState; output?: string; live?: A2AStreamEvent[] }>, listed?: Task[]) {
    const sent: string[] = [];
    const subscribed: string[] = [];
    const withOutput = (id: string, state: TaskState, output: string | undefined): Task => ({
      ...task(id, state),
      artifacts: output === undefined ? [] : [{ artifactId: 'a1', name: 'answer', description: '', parts: [{ content: { $case: 'text', value: output }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [] }],
    });
    const client: A2AClient = {
      card,
      agent: 'worker',
      send: () => Promise.reject(new Error('not used')),
      async *stream() {
        sent.push('message');
        yield taskEvent('agent-task-new', TaskState.TASK_STATE_WORKING);
        yield { kind: 'task', task: withOutput('agent-task-new', TaskState.TASK_STATE_COMPLETED, 'fresh work'), state: TaskState.TASK_STATE_COMPLETED, final: true };
      },
      getTask: (taskId) => {
        const known = tasks[taskId];
        if (known === undefined) return Promise.reject(new A2AClientError('task_not_found', `task ${taskId} not found`, target));
        return Promise.resolve(withOutput(taskId, known.state, known.output));
      },
      listTasks: () => (listed === undefined ? Promise.reject(new A2AClientError('protocol', 'Method not found: tasks/list', target)) : Promise.resolve(listed)),
      cancelTask: (taskId) => Promise.resolve(task(taskId, TaskState.TASK_STATE_CANCELED)),
      async *subscribe(taskId) {
        subscribed.push(taskId);
        yield* tasks[taskId]?.live ?? [];
      },
    };
    return { client, sent, subscribed };
  }

  const resumedRequest = (taskId: string): NodeRunRequest => ({
    ...runRequest(new AbortController().signal),
    previous: { status: 'running', output: null, error: null, attempts: 1, agent: 'worker', startedAt: null, finishedAt: null, taskId, approvalContext: null, skipReason: null },
  });

  function runner(client: A2AClient, progress: ReasoningEvent[] = []) {
    return createNodeRunner({ directory, clients: { for: () => Promise.resolve(client) }, sessionId: 'session-1', sink: { ...silentSink, progress: (event) => void progress.push(event) }, onReplan: () => undefined, logger: quietLogger() });
  }

  it('takes the result of a task that finished meanwhile, without sending the work again', async () => {
    const agent = survivingAgent({ 'agent-task-1': { state: TaskState.TASK_STATE_COMPLETED, output: 'done while we were down' } });
    const outcome = await runner(agent.client)(resumedRequest('agent-task-1'));
    expect(outcome).toMatchObject({ kind: 'completed', output: 'done while we were down', taskId: 'agent-task-1' });
    expect(agent.sent).toEqual([]);
    expect(agent.subscribed).toEqual([]);
  });

  it('subscribes to a task that is still working and reads it to its end', async () => {
    const finished: A2AStreamEvent = {
      kind: 'artifact',
      taskId: 'agent-task-1',
      contextId: 'session-1',
      artifact: { artifactId: 'a1', name: 'answer', description: '', parts: [{ content: { $case: 'text', value: 'finished live' }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [] },
      append: false,
      lastChunk: true,
      text: 'finished live',
      data: [],
      final: false,
      event: {} as never,
    };
    const agent = survivingAgent({
      'agent-task-1': { state: TaskState.TASK_STATE_WORKING, live: [finished, { kind: 'task', task: task('agent-task-1', TaskState.TASK_STATE_COMPLETED), state: TaskState.TASK_STATE_COMPLETED, final: true }] },
    });
    const outcome = await runner(agent.client)(resumedRequest('agent-task-1'));
    expect(outcome).toMatchObject({ kind: 'completed', output: 'finished live', taskId: 'agent-task-1' });
    expect(agent.subscribed).toEqual(['agent-task-1']);
    expect(agent.sent).toEqual([]);
  });

  it('sends the work again, visibly, when the agent no longer knows the task', async () => {
    const agent = survivingAgent({});
    const progress: ReasoningEvent[] = [];
    const outcome = await runner(agent.client, progress)(resumedRequest('agent-task-lost'));
    expect(outcome).toMatchObject({ kind: 'completed', output: 'fresh work', taskId: 'agent-task-new' });
    expect(agent.sent).toEqual(['message']);
    expect(progress[0]).toMatchObject({ type: 'node_retrying', node: 'n1', metadata: { reason: 'task_not_found' } });
  });

  /** A task of the session as the agent lists it: its first message is the node's call. */
  function listedTask(id: string, state: TaskState, at: string, call: { node: string; input: string } = { node: 'n1', input: 'work' }): Task {
    const first = userMessage({ text: call.input, contextId: 'session-1', metadata: { [EnsembleMetadataKey.node]: call.node } });
    return { ...task(id, state), status: { state, message: undefined, timestamp: at }, history: [first] };
  }

  it('finds the task by asking the agent when the crash came before its id was recorded', async () => {
    const live: A2AStreamEvent[] = [{ kind: 'task', task: task('agent-task-2', TaskState.TASK_STATE_COMPLETED), state: TaskState.TASK_STATE_COMPLETED, final: true }];
    const agent = survivingAgent({ 'agent-task-2': { state: TaskState.TASK_STATE_WORKING, live } }, [
      listedTask('other-node', TaskState.TASK_STATE_WORKING, '2030-01-01T00:00:03Z', { node: 'n2', input: 'work' }),
      listedTask('other-input', TaskState.TASK_STATE_WORKING, '2030-01-01T00:00:03Z', { node: 'n1', input: 'older plan' }),
      { ...listedTask('other-session', TaskState.TASK_STATE_COMPLETED, '2030-01-01T00:00:04Z'), contextId: 'session-2' },
      listedTask('agent-task-2', TaskState.TASK_STATE_WORKING, '2030-01-01T00:00:02Z'),
    ]);
    const outcome = await runner(agent.client)({ ...resumedRequest('unused'), previous: { ...resumedRequest('unused').previous!, taskId: null } });
    expect(outcome).toMatchObject({ kind: 'completed', taskId: 'agent-task-2' });
    expect(agent.subscribed).toEqual(['agent-task-2']);
    expect(agent.sent).toEqual([]);
  });

  it('prefers what the agent lists over the recorded id: a finished task first, never a failed one', async () => {
    const agent = survivingAgent(
      {
        'agent-task-1': { state: TaskState.TASK_STATE_WORKING },
        'agent-task-3': { state: TaskState.TASK_STATE_COMPLETED, output: 'retry finished' },
      },
      [
        listedTask('agent-task-4', TaskState.TASK_STATE_FAILED, '2030-01-01T00:00:04Z'),
        listedTask('agent-task-3', TaskState.TASK_STATE_COMPLETED, '2030-01-01T00:00:03Z'),
        listedTask('agent-task-2', TaskState.TASK_STATE_WORKING, '2030-01-01T00:00:05Z'),
        listedTask('agent-task-1', TaskState.TASK_STATE_WORKING, '2030-01-01T00:00:01Z'),
      ],
    );
    const outcome = await runner(agent.client)(resumedRequest('agent-task-1'));
    expect(outcome).toMatchObject({ kind: 'completed', output: 'retry finished', taskId: 'agent-task-3' });
    expect(agent.sent).toEqual([]);
    expect(agent.subscribed).toEqual([]);
  });

  it('sends the work when the agent lists no task of the node and none was recorded', async () => {
    const agent = survivingAgent({}, [listedTask('failed-before', TaskState.TASK_STATE_FAILED, '2030-01-01T00:00:01Z')]);
    const outcome = await runner(agent.client)({ ...resumedRequest('unused'), previous: { ...resumedRequest('unused').previous!, taskId: null } });
    expect(outcome).toMatchObject({ kind: 'completed', output: 'fresh work', taskId: 'agent-task-new' });
    expect(agent.sent).toEqual(['message']);
  });

  it('reports the agent task id as soon as the first event names it', async () => {
    const agent = survivingAgent({});
    const reported: string[] = [];
    await runner(agent.client)({ ...runRequest(new AbortController().signal), onAgentTask: (who, taskId) => reported.push(`${who}:${taskId}`) });
    expect(reported).toEqual(['worker:agent-task-new']);
  });
});

describe('node runner: a paused agent', () => {
  function pausingAgent(state: TaskState): A2AClient {
    return {
      card,
      agent: 'worker',
      send: () => Promise.reject(new Error('not used')),
      async *stream() {
        yield { kind: 'task', task: task('agent-task-9', state), state, final: true };
      },
      getTask: () => Promise.reject(new Error('not used')),
      listTasks: () => Promise.reject(new Error('not used')),
      cancelTask: () => Promise.reject(new Error('not used')),
      subscribe: () => {
        throw new Error('not used');
      },
    };
  }

  it.each([
    [TaskState.TASK_STATE_AUTH_REQUIRED, 'approval'],
    [TaskState.TASK_STATE_INPUT_REQUIRED, 'input'],
  ] as const)('records one approval per pause (%s → kind %s) and puts its id and fields in the pause context', async (state, kind) => {
    const approvals = new InMemoryApprovalStore();
    const runNode = createNodeRunner({
      directory,
      clients: { for: () => Promise.resolve(pausingAgent(state)) },
      sessionId: 'session-1',
      sink: silentSink,
      onReplan: () => undefined,
      logger: quietLogger(),
      recordApproval: (nodeId, agent, pause) => approvals.create({ owner: 'alice', sessionId: 'session-1', nodeId, agent, ...pause, timeoutSeconds: 60 }),
    });
    const outcome = await runNode(runRequest(new AbortController().signal));
    expect(outcome.kind).toBe('approval_required');
    const { data } = await approvals.list('alice');
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ session_id: 'session-1', node_id: 'n1', agent: 'worker', kind, status: 'pending' });
    if (outcome.kind !== 'approval_required') return;
    expect(outcome.context).toMatchObject({ approval_id: data[0]?.id, kind, expires_at: data[0]?.expires_at, agent_task_id: 'agent-task-9' });
  });
});
