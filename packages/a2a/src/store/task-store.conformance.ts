import { Role, type Task, TaskState } from '@a2a-js/sdk';
import { ServerCallContext, type TaskStore } from '@a2a-js/sdk/server';
import { EnsembleMetadataKey } from '@ensemble/protocol';
// Conformance suites are test code run by each implementation's test file; vitest is the repo's test runner.
// eslint-disable-next-line import-x/no-extraneous-dependencies
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { dataPart, textPart } from '../parts.js';
import { PrincipalUser } from '../principal-user.js';

/**
 * The behaviour every `TaskStore` in Ensemble must have, as one suite run against each implementation
 * (in memory in `*.test.ts`, Redis in `*.int.test.ts`). `create` returns a fresh, empty store and a
 * cleanup that removes what the test wrote.
 */
export function describeTaskStoreConformance(name: string, create: () => Promise<{ store: TaskStore; cleanup(): Promise<void> }>): void {
  describe(`TaskStore conformance: ${name}`, () => {
    let store: TaskStore;
    let fixture: { cleanup(): Promise<void> } | undefined;

    beforeEach(async () => {
      const created = await create();
      store = created.store;
      fixture = created;
    });
    afterEach(async () => {
      await fixture?.cleanup();
    });

    it('returns undefined for a task it never saw', async () => {
      expect(await store.load('no-such-task', callContext())).toBeUndefined();
    });

    it('round-trips a full task: status, history, artifacts with text and data parts, metadata', async () => {
      const task = sampleTask('t-round-trip', { contextId: 'ctx-1' });
      await store.save(task, callContext());
      expect(await store.load(task.id, callContext())).toEqual(task);
    });

    it('overwrites on save and isolates stored copies from caller mutation', async () => {
      const task = sampleTask('t-overwrite');
      await store.save(task, callContext());
      task.status!.state = TaskState.TASK_STATE_FAILED;
      expect((await store.load(task.id, callContext()))?.status?.state).toBe(TaskState.TASK_STATE_WORKING);
      const loaded = (await store.load(task.id, callContext()))!;
      loaded.artifacts = [];
      expect((await store.load(task.id, callContext()))?.artifacts).toHaveLength(1);
      await store.save({ ...task, status: { ...task.status!, state: TaskState.TASK_STATE_COMPLETED } }, callContext());
      expect((await store.load(task.id, callContext()))?.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    });

    it('scopes tasks by tenant', async () => {
      await store.save(sampleTask('t-tenant'), callContext({ tenant: 'acme' }));
      expect(await store.load('t-tenant', callContext({ tenant: 'acme' }))).toBeDefined();
      expect(await store.load('t-tenant', callContext({ tenant: 'other' }))).toBeUndefined();
      expect(await store.load('t-tenant', callContext())).toBeUndefined();
    });

    it('scopes tasks by authenticated owner, in load and in list', async () => {
      await store.save(sampleTask('t-alice'), callContext({ user: 'alice' }));
      expect(await store.load('t-alice', callContext({ user: 'alice' }))).toBeDefined();
      expect(await store.load('t-alice', callContext({ user: 'bob' }))).toBeUndefined();
      expect(await store.load('t-alice', callContext())).toBeUndefined();
      const bobs = await store.list(listRequest({}), callContext({ user: 'bob' }));
      expect(bobs.tasks).toEqual([]);
      expect((await store.list(listRequest({}), callContext({ user: 'alice' }))).tasks.map((task) => task.id)).toEqual(['t-alice']);
    });

    it('lists newest first, filters by context and state, and omits artifacts unless asked', async () => {
      await store.save(sampleTask('t-1', { contextId: 'ctx-a', at: '2030-01-01T00:00:01.000Z' }), callContext());
      await store.save(sampleTask('t-2', { contextId: 'ctx-b', at: '2030-01-01T00:00:02.000Z' }), callContext());
      await store.save(sampleTask('t-3', { contextId: 'ctx-a', at: '2030-01-01T00:00:03.000Z', state: TaskState.TASK_STATE_COMPLETED }), callContext());

      const all = await store.list(listRequest({}), callContext());
      expect(all.tasks.map((task) => task.id)).toEqual(['t-3', 't-2', 't-1']);
      expect(all.totalSize).toBe(3);
      expect(all.tasks.every((task) => task.artifacts.length === 0)).toBe(true);

      const inContext = await store.list(listRequest({ contextId: 'ctx-a' }), callContext());
      expect(inContext.tasks.map((task) => task.id)).toEqual(['t-3', 't-1']);
      const completed = await store.list(listRequest({ status: TaskState.TASK_STATE_COMPLETED }), callContext());
      expect(completed.tasks.map((task) => task.id)).toEqual(['t-3']);
      const withArtifacts = await store.list(listRequest({ includeArtifacts: true }), callContext());
      expect(withArtifacts.tasks[0]?.artifacts).toHaveLength(1);
      const after = await store.list(listRequest({ statusTimestampAfter: '2030-01-01T00:00:01.500Z' }), callContext());
      expect(after.tasks.map((task) => task.id)).toEqual(['t-3', 't-2']);
    });

    it('pages through every task exactly once', async () => {
      for (let index = 0; index < 5; index += 1) {
        await store.save(sampleTask(`t-page-${index}`, { at: `2030-01-01T00:00:0${index}.000Z` }), callContext());
      }
      const seen: string[] = [];
      let pageToken = '';
      for (let page = 0; page < 10; page += 1) {
        const result = await store.list(listRequest({ pageSize: 2, pageToken }), callContext());
        seen.push(...result.tasks.map((task) => task.id));
        expect(result.tasks.length).toBeLessThanOrEqual(2);
        pageToken = result.nextPageToken;
        if (pageToken === '') break;
      }
      expect(seen).toEqual(['t-page-4', 't-page-3', 't-page-2', 't-page-1', 't-page-0']);
    });
  });
}


function callContext(options: { tenant?: string; user?: string } = {}): ServerCallContext {
  return new ServerCallContext({ tenant: options.tenant, user: options.user === undefined ? undefined : new PrincipalUser(options.user) });
}

function listRequest(overrides: Partial<Parameters<TaskStore['list']>[0]>): Parameters<TaskStore['list']>[0] {
  return { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined, ...overrides };
}

function sampleTask(id: string, options: { contextId?: string; at?: string; state?: TaskState } = {}): Task {
  const contextId = options.contextId ?? 'ctx-default';
  return {
    id,
    contextId,
    status: { state: options.state ?? TaskState.TASK_STATE_WORKING, message: undefined, timestamp: options.at ?? '2030-01-01T00:00:00.000Z' },
    history: [
      {
        messageId: `${id}-m1`,
        contextId,
        taskId: id,
        role: Role.ROLE_USER,
        parts: [textPart('find the quarterly numbers')],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      },
    ],
    artifacts: [
      {
        artifactId: `${id}-a1`,
        name: 'response',
        description: '',
        parts: [textPart('Revenue grew 12%.'), dataPart({ revenue: { q1: 10, q2: 11.2 }, tags: ['finance'] })],
        metadata: undefined,
        extensions: [],
      },
    ],
    metadata: { [EnsembleMetadataKey.approvals]: { approval: { decision: 'approve' } } },
  };
}
