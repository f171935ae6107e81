import { type Task, TaskState } from '@a2a-js/sdk';
import { type A2AClient, type A2AStreamEvent, type AgentInfo, buildAgentCard } from '@ensemble/a2a';
import type { NodeRunRequest } from '@ensemble/dag';
import { EnsembleMetadataKey } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import type { AgentDirectory } from './agents.js';
import { silentSink } from './events.js';
import { createNodeRunner } from './node-runner.js';
import { planNode, quietLogger } from './testing/harness.js';

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
  return { node: planNode('n1', 'worker', 'work'), agent: 'worker', input: 'work', attempt: 1, fallback: false, signal, approval: null, previous: null };
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
