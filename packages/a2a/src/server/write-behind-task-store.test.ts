import { Writable } from 'node:stream';

import { type ListTasksRequest, type ListTasksResponse, Role, type Task, TaskState } from '@a2a-js/sdk';
import { InMemoryTaskStore, ServerCallContext, type TaskStore } from '@a2a-js/sdk/server';
import { createLogger } from '@ensemble/telemetry';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { textPart } from '../parts.js';
import { describeTaskStoreConformance } from '../store/task-store.conformance.js';
import { WriteBehindTaskStore } from './write-behind-task-store.js';

// The wrapper is a TaskStore like any other: it passes the suite every store passes.
describeTaskStoreConformance('WriteBehindTaskStore over InMemoryTaskStore', async () => {
  const store = new WriteBehindTaskStore(new InMemoryTaskStore());
  return { store, cleanup: () => store.flush() };
});

/** Records what reaches the inner store, and can be made to fail or to hold writes. */
class RecordingStore implements TaskStore {
  readonly writes: { id: string; state: TaskState | undefined; text: string }[] = [];
  failNext = false;
  private readonly inner = new InMemoryTaskStore();

  async save(task: Task, context: ServerCallContext): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('store unavailable');
    }
    this.writes.push({ id: task.id, state: task.status?.state, text: textOf(task) });
    await this.inner.save(task, context);
  }

  load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    return this.inner.load(taskId, context);
  }

  list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    return this.inner.list(params, context);
  }
}

function textOf(task: Task): string {
  return (task.artifacts[0]?.parts ?? []).map((part) => (part.content?.$case === 'text' ? part.content.value : '')).join('');
}

const context = () => new ServerCallContext();
const timestamp = '2026-01-01T00:00:00.000Z';

function task(id: string, state: TaskState, text: string, at = timestamp): Task {
  return {
    id,
    contextId: 'ctx',
    status: { state, message: undefined, timestamp: at },
    artifacts: text === '' ? [] : [{ artifactId: 'a', name: 'response', description: '', parts: [textPart(text)], metadata: undefined, extensions: [] }],
    history: [{ messageId: 'm', contextId: 'ctx', taskId: id, role: Role.ROLE_USER, parts: [textPart('hi')], metadata: undefined, extensions: [], referenceTaskIds: [] }],
    metadata: {},
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('WriteBehindTaskStore', () => {
  it('defers artifact-only saves, answers loads from them, and writes the latest once the interval ends', async () => {
    vi.useFakeTimers();
    const inner = new RecordingStore();
    const store = new WriteBehindTaskStore(inner, { flushIntervalMs: 50 });
    await store.save(task('t', TaskState.TASK_STATE_WORKING, ''), context());
    for (const text of ['a', 'ab', 'abc']) await store.save(task('t', TaskState.TASK_STATE_WORKING, text), context());
    expect(inner.writes.map((write) => write.text)).toEqual(['']);
    expect(store.pendingWrites).toBe(3);
    expect(textOf((await store.load('t', context()))!)).toBe('abc');
    await vi.advanceTimersByTimeAsync(50);
    expect(inner.writes.map((write) => write.text)).toEqual(['', 'abc']);
    expect(store.pendingWrites).toBe(0);
  });

  it('keeps a pending snapshot apart from later changes to the saved task and to loaded copies', async () => {
    const store = new WriteBehindTaskStore(new RecordingStore(), { flushIntervalMs: 60_000 });
    await store.save(task('t', TaskState.TASK_STATE_WORKING, ''), context());
    const saved = task('t', TaskState.TASK_STATE_WORKING, 'a');
    await store.save(saved, context());
    // The changes the SDK makes between events: parts appended, artifacts added, fields replaced.
    saved.artifacts[0]!.parts.push(textPart('b'));
    saved.artifacts.push({ ...saved.artifacts[0]!, artifactId: 'other' });
    saved.history.push(saved.history[0]!);
    const loaded = (await store.load('t', context()))!;
    loaded.artifacts[0]!.parts = [...loaded.artifacts[0]!.parts, textPart('c')];
    loaded.artifacts.pop();
    loaded.history.length = 0;
    const again = (await store.load('t', context()))!;
    expect(textOf(again)).toBe('a');
    expect(again.artifacts).toHaveLength(1);
    expect(again.history).toHaveLength(1);
    await store.flush();
  });

  it('writes a status change at once, with the text deferred before it, and in order', async () => {
    const inner = new RecordingStore();
    const store = new WriteBehindTaskStore(inner, { flushIntervalMs: 60_000 });
    await store.save(task('t', TaskState.TASK_STATE_WORKING, ''), context());
    await store.save(task('t', TaskState.TASK_STATE_WORKING, 'partial'), context());
    await store.save(task('t', TaskState.TASK_STATE_COMPLETED, 'partial answer', '2026-01-01T00:00:01.000Z'), context());
    expect(inner.writes).toEqual([
      { id: 't', state: TaskState.TASK_STATE_WORKING, text: '' },
      { id: 't', state: TaskState.TASK_STATE_COMPLETED, text: 'partial answer' },
    ]);
    expect(textOf((await inner.load('t', context()))!)).toBe('partial answer');
    expect(store.pendingWrites).toBe(0);
  });

  it('defers progress in the same state (a new status message, metadata) like artifacts', async () => {
    const inner = new RecordingStore();
    const store = new WriteBehindTaskStore(inner, { flushIntervalMs: 60_000 });
    await store.save(task('t', TaskState.TASK_STATE_WORKING, ''), context());
    const progress = { ...task('t', TaskState.TASK_STATE_WORKING, '', '2026-01-01T00:00:02.000Z'), metadata: { step: 2 } };
    await store.save(progress, context());
    expect(inner.writes).toHaveLength(1);
    expect((await store.load('t', context()))?.metadata).toEqual({ step: 2 });
    await store.save(task('t', TaskState.TASK_STATE_AUTH_REQUIRED, ''), context());
    expect(inner.writes.map((write) => write.state)).toEqual([TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_AUTH_REQUIRED]);
  });

  it('writes anyway after maxDeferredSaves, and flush() writes what is pending', async () => {
    const inner = new RecordingStore();
    const store = new WriteBehindTaskStore(inner, { flushIntervalMs: 60_000, maxDeferredSaves: 3 });
    await store.save(task('t', TaskState.TASK_STATE_WORKING, ''), context());
    for (const text of ['a', 'ab', 'abc', 'abcd']) await store.save(task('t', TaskState.TASK_STATE_WORKING, text), context());
    expect(inner.writes.map((write) => write.text)).toEqual(['', 'abc']);
    await store.flush();
    expect(inner.writes.map((write) => write.text)).toEqual(['', 'abc', 'abcd']);
  });

  it('keeps tasks of different scopes apart', async () => {
    const inner = new RecordingStore();
    const store = new WriteBehindTaskStore(inner, { flushIntervalMs: 60_000 });
    const acme = new ServerCallContext({ tenant: 'acme' });
    await store.save(task('t', TaskState.TASK_STATE_WORKING, ''), acme);
    await store.save(task('t', TaskState.TASK_STATE_WORKING, 'acme text'), acme);
    expect(await store.load('t', context())).toBeUndefined();
    expect(textOf((await store.load('t', acme))!)).toBe('acme text');
  });

  it('a failed deferred write is logged, and the next write carries the full snapshot', async () => {
    const lines: string[] = [];
    const logger = createLogger({ service: 'write-behind-test', destination: new Writable({ write: (chunk: Buffer, _encoding, callback) => (lines.push(chunk.toString()), callback()) }) });
    const inner = new RecordingStore();
    const store = new WriteBehindTaskStore(inner, { flushIntervalMs: 60_000, logger });
    await store.save(task('t', TaskState.TASK_STATE_WORKING, ''), context());
    await store.save(task('t', TaskState.TASK_STATE_WORKING, 'lost?'), context());
    inner.failNext = true;
    await store.flush();
    expect(lines.join('')).toContain('deferred task write failed');
    await store.save(task('t', TaskState.TASK_STATE_COMPLETED, 'lost? no', '2026-01-01T00:00:02.000Z'), context());
    expect(textOf((await inner.load('t', context()))!)).toBe('lost? no');
  });

  it('list() writes pending saves first, so listings are not behind', async () => {
    const inner = new RecordingStore();
    const store = new WriteBehindTaskStore(inner, { flushIntervalMs: 60_000 });
    await store.save(task('t', TaskState.TASK_STATE_WORKING, ''), context());
    await store.save(task('t', TaskState.TASK_STATE_WORKING, 'listed'), context());
    const listed = await store.list({ tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 10, pageToken: '', historyLength: undefined, statusTimestampAfter: undefined, includeArtifacts: true }, context());
    expect(listed.tasks.map(textOf)).toEqual(['listed']);
  });

  it('with an interval of 0 every save is written through', async () => {
    const inner = new RecordingStore();
    const store = new WriteBehindTaskStore(inner, { flushIntervalMs: 0 });
    await store.save(task('t', TaskState.TASK_STATE_WORKING, ''), context());
    await store.save(task('t', TaskState.TASK_STATE_WORKING, 'a'), context());
    expect(inner.writes).toHaveLength(2);
  });
});
