import { type ListTasksRequest, type ListTasksResponse, type Task, TaskState } from '@a2a-js/sdk';
import { InMemoryTaskStore, ServerCallContext, type TaskStore } from '@a2a-js/sdk/server';
import { PrincipalUser } from '@ensemble/a2a';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { OrchestratorTaskStore } from './task-store.js';

const asGateway = () => new ServerCallContext({ user: new PrincipalUser('gateway') });

function task(id: string, state: TaskState, metadata: Record<string, unknown> = {}): Task {
  return {
    id,
    contextId: 'session-1',
    status: { state, message: undefined, timestamp: '2030-01-01T00:00:00.000Z' },
    history: [],
    artifacts: [],
    metadata,
  };
}

/** The real in-memory store, counting the saves that reach it. */
class CountingStore implements TaskStore {
  readonly inner = new InMemoryTaskStore();
  readonly saved: { id: string; state: TaskState | undefined; step: unknown }[] = [];

  async save(value: Task, context: ServerCallContext): Promise<void> {
    this.saved.push({ id: value.id, state: value.status?.state, step: value.metadata?.['step'] });
    await this.inner.save(value, context);
  }

  load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    return this.inner.load(taskId, context);
  }

  list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    return this.inner.list(params, context);
  }
}

describe('OrchestratorTaskStore', () => {
  let inner: CountingStore;
  let store: OrchestratorTaskStore;
  const local = new Set<string>();
  const foreignCancels: string[] = [];

  beforeEach(() => {
    vi.useFakeTimers();
    inner = new CountingStore();
    store = new OrchestratorTaskStore(inner, { progressFlushMs: 100 });
    local.clear();
    foreignCancels.length = 0;
    store.watchCancels(
      (taskId) => local.has(taskId),
      (canceled) => foreignCancels.push(canceled.id),
    );
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a running task through once, then its progress behind, at most every progressFlushMs', async () => {
    local.add('t1');
    await store.save(task('t1', TaskState.TASK_STATE_WORKING, { step: 0 }), asGateway());
    expect(inner.saved).toEqual([{ id: 't1', state: TaskState.TASK_STATE_WORKING, step: 0 }]);

    for (let step = 1; step <= 20; step += 1) await store.save(task('t1', TaskState.TASK_STATE_WORKING, { step }), asGateway());
    // Not written yet, but this process reads its latest state.
    expect(inner.saved).toHaveLength(1);
    expect((await store.load('t1', asGateway()))?.metadata).toEqual({ step: 20 });

    await vi.advanceTimersByTimeAsync(99);
    expect(inner.saved).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await store.flush();
    expect(inner.saved.at(-1)).toEqual({ id: 't1', state: TaskState.TASK_STATE_WORKING, step: 20 });
    expect(inner.saved).toHaveLength(2);
    expect((await inner.load('t1', asGateway()))?.metadata).toEqual({ step: 20 });
  });

  it('keeps its own copies: neither the saved object nor a loaded one can change what is kept', async () => {
    local.add('t1');
    const saved = task('t1', TaskState.TASK_STATE_WORKING, { step: 1 });
    await store.save(saved, asGateway());
    await store.save(task('t1', TaskState.TASK_STATE_WORKING, { step: 2 }), asGateway());
    const loaded = await store.load('t1', asGateway());
    loaded!.metadata = { step: 'mutated' };
    saved.metadata = { step: 'mutated too' };
    expect((await store.load('t1', asGateway()))?.metadata).toEqual({ step: 2 });
  });

  it('writes final and interrupted states through, after the progress before them, and stops keeping the task', async () => {
    local.add('t1');
    local.add('t2');
    await store.save(task('t1', TaskState.TASK_STATE_WORKING, { step: 0 }), asGateway());
    await store.save(task('t1', TaskState.TASK_STATE_WORKING, { step: 1 }), asGateway());
    await store.save(task('t1', TaskState.TASK_STATE_COMPLETED, { step: 2 }), asGateway());
    // Awaited: stored by the time save resolves, without any timer firing.
    expect(inner.saved.map((entry) => entry.step)).toEqual([0, 2]);
    expect(store.liveTasks).toBe(0);
    expect((await store.load('t1', asGateway()))?.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);

    await store.save(task('t2', TaskState.TASK_STATE_WORKING), asGateway());
    await store.save(task('t2', TaskState.TASK_STATE_AUTH_REQUIRED), asGateway());
    expect((await inner.load('t2', asGateway()))?.status?.state).toBe(TaskState.TASK_STATE_AUTH_REQUIRED);
    expect(store.liveTasks).toBe(0);
    await vi.runAllTimersAsync();
    expect(inner.saved.filter((entry) => entry.id === 't2')).toHaveLength(2);
  });

  it('never overwrites a task another process finished (a CancelTask handled there)', async () => {
    local.add('t1');
    await store.save(task('t1', TaskState.TASK_STATE_WORKING), asGateway());
    await inner.inner.save(task('t1', TaskState.TASK_STATE_CANCELED), asGateway());

    await store.save(task('t1', TaskState.TASK_STATE_WORKING, { step: 1 }), asGateway());
    await vi.advanceTimersByTimeAsync(100);
    await store.flush();
    await store.save(task('t1', TaskState.TASK_STATE_FAILED), asGateway());
    expect((await inner.load('t1', asGateway()))?.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });

  it('writes tasks it does not run straight through, and reports their cancels', async () => {
    await store.save(task('elsewhere', TaskState.TASK_STATE_AUTH_REQUIRED), asGateway());
    await store.save(task('elsewhere', TaskState.TASK_STATE_CANCELED), asGateway());
    expect(inner.saved.map((entry) => entry.state)).toEqual([TaskState.TASK_STATE_AUTH_REQUIRED, TaskState.TASK_STATE_CANCELED]);
    expect(foreignCancels).toEqual(['elsewhere']);
    expect(store.liveTasks).toBe(0);
  });

  it('throws a registered refusal instead of saving', async () => {
    local.add('t1');
    store.refuse('t1', new Error('session busy'));
    await expect(store.save(task('t1', TaskState.TASK_STATE_SUBMITTED), asGateway())).rejects.toThrow('session busy');
    expect(inner.saved).toEqual([]);
    // Only once: the next save is an ordinary one.
    await store.save(task('t1', TaskState.TASK_STATE_SUBMITTED), asGateway());
    expect(inner.saved).toHaveLength(1);
  });

  it('on release, writes pending progress before any later read, and forgets the task', async () => {
    local.add('t1');
    await store.save(task('t1', TaskState.TASK_STATE_WORKING, { step: 0 }), asGateway());
    await store.save(task('t1', TaskState.TASK_STATE_WORKING, { step: 1 }), asGateway());
    local.delete('t1');
    store.release('t1');
    expect(store.liveTasks).toBe(0);
    // The read waits for the write still in flight.
    expect((await store.load('t1', asGateway()))?.metadata).toEqual({ step: 1 });
    // Events saved after the run ended go straight through.
    await store.save(task('t1', TaskState.TASK_STATE_COMPLETED, { step: 2 }), asGateway());
    expect(inner.saved.map((entry) => entry.step)).toEqual([0, 1, 2]);
  });

  it('shows a running task only to its own scope', async () => {
    local.add('t1');
    await store.save(task('t1', TaskState.TASK_STATE_WORKING), asGateway());
    expect(await store.load('t1', new ServerCallContext({ user: new PrincipalUser('someone-else') }))).toBeUndefined();
    expect(await store.load('t1', new ServerCallContext({ user: new PrincipalUser('gateway'), tenant: 'other' }))).toBeUndefined();
    expect(await store.load('t1', asGateway())).toBeDefined();
  });
});
