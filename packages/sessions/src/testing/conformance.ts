import { ErrorCode, type ExecutionPlan, type NodeResult, type SessionRequest } from '@ensemble/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { SessionStore } from '../session-store.js';
import { rejection } from '@ensemble/protocol/testing';

/** What the suite needs from an implementation besides the store: ways to make time pass. */
export interface SessionStoreHarness {
  store: SessionStore;
  /**
   * Makes the session's TTL run out now (as if it were abandoned for 7 days). It may expire other
   * sessions alive at the time too (a shared clock): the suite creates survivors afterwards.
   */
  expireSession(id: string): Promise<void>;
  /** Makes the session's lease run out now (as if its holder died). */
  expireLease(id: string): Promise<void>;
  /** Moves the store's clock forward (real stores may simply wait this long). */
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

export const sampleRequest: SessionRequest = { messages: [{ role: 'user', content: 'Compare the weather in Paris and Rome' }], model: 'ensemble' };

export const samplePlan: ExecutionPlan = {
  goal: 'compare weather',
  rationale: 'two independent lookups, then a comparison',
  nodes: [
    { id: 'paris', agent: 'weather', skill: null, input: 'Paris', dependsOn: [], condition: null, retry: { maxAttempts: 2, backoffMs: 100 }, timeoutMs: 30_000, fallbackAgent: null, description: 'Paris weather' },
    { id: 'rome', agent: 'weather', skill: null, input: 'Rome', dependsOn: [], condition: null, retry: { maxAttempts: 2, backoffMs: 100 }, timeoutMs: 30_000, fallbackAgent: null, description: 'Rome weather' },
  ],
};

export function sampleResult(overrides: Partial<NodeResult> = {}): NodeResult {
  return { status: 'completed', output: 'Sunny, 24°C', error: null, attempts: 1, agent: 'weather', startedAt: '2025-01-01T00:00:00.000Z', finishedAt: '2025-01-01T00:00:01.000Z', taskId: 'task-1', approvalContext: null, skipReason: null, ...overrides };
}


/**
 * The `SessionStore` contract as tests. Every implementation runs this same suite (in-memory in a unit
 * test, Redis in an integration test), so they cannot drift apart.
 */
export function describeSessionStoreConformance(name: string, setup: () => Promise<SessionStoreHarness>): void {
  describe(`SessionStore conformance: ${name}`, () => {
    let harness: SessionStoreHarness;
    let store: SessionStore;
    beforeEach(async () => {
      harness = await setup();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    describe('create and get', () => {
      it('creates sessions with server-generated UUIDs, active, and returns them with the original request', async () => {
        const first = await store.create({ owner: 'alice', request: sampleRequest, dag: samplePlan });
        const second = await store.create({ owner: 'alice', request: sampleRequest });

        expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(second.id).not.toBe(first.id);
        expect(first).toMatchObject({ owner: 'alice', status: 'active', dag: samplePlan, nodes: {}, currentNodes: [], approvalContext: null, errorType: null, errorMessage: null });
        expect(first.createdAt).toBe(first.updatedAt);
        const loaded = await store.get(first.id, 'alice');
        expect(loaded).toEqual(first);
        expect(loaded.request).toEqual(sampleRequest);
      });

      it("answers not_found (404) for unknown ids, malformed ids and another owner's session", async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        for (const attempt of [() => store.get('6f1c1d4e-7a59-4d39-a3f3-5b7f6bfe1f00', 'alice'), () => store.get('not-a-uuid', 'alice'), () => store.get(session.id, 'mallory')]) {
          const error = await rejection(attempt());
          expect(error.code).toBe(ErrorCode.NotFound);
          expect(error.status).toBe(404);
        }
        // The foreign caller's error is indistinguishable from a missing session.
        const foreign = await rejection(store.get(session.id, 'mallory'));
        const missing = await rejection(store.get('6f1c1d4e-7a59-4d39-a3f3-5b7f6bfe1f00', 'mallory'));
        expect([foreign.wireCode, foreign.details]).toEqual([missing.wireCode, missing.details]);
      });

      it('rejects an invalid request with invalid_request', async () => {
        const error = await rejection(store.create({ owner: 'alice', request: { messages: [], model: null } }));
        expect(error.code).toBe(ErrorCode.InvalidRequest);
      });

      it('returns copies: mutating a result changes nothing stored', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest, dag: samplePlan });
        session.dag?.nodes.pop();
        const loaded = await store.get(session.id, 'alice');
        loaded.currentNodes.push('x');
        expect((await store.get(session.id, 'alice')).dag?.nodes).toHaveLength(2);
        expect((await store.get(session.id, 'alice')).currentNodes).toEqual([]);
      });
    });

    describe('update', () => {
      it('patches record fields, keeps fixed ones, and advances updatedAt', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        await harness.advance(5);
        const updated = await store.update(session.id, 'alice', { status: 'waiting_approval', approvalContext: { action: 'send email' }, dag: samplePlan, currentNodes: ['paris'] });

        expect(updated).toMatchObject({ id: session.id, owner: 'alice', createdAt: session.createdAt, status: 'waiting_approval', approvalContext: { action: 'send email' }, currentNodes: ['paris'] });
        expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(session.updatedAt));
        expect(await store.get(session.id, 'alice')).toMatchObject({ status: 'waiting_approval', dag: samplePlan });
      });

      it('passes the current record to a function patch', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        await store.update(session.id, 'alice', { currentNodes: ['a'] });
        const updated = await store.update(session.id, 'alice', (current) => ({ currentNodes: [...current.currentNodes, 'b'] }));
        expect(updated.currentNodes).toEqual(['a', 'b']);
      });

      it('rejects final statuses (finish() ends a session) and invalid values', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        expect((await rejection(store.update(session.id, 'alice', { status: 'completed' }))).code).toBe(ErrorCode.InvalidRequest);
        expect((await rejection(store.update(session.id, 'alice', { currentNodes: [42] as unknown as string[] }))).code).toBe(ErrorCode.InvalidRequest);
        expect((await store.get(session.id, 'alice')).status).toBe('active');
      });

      it("cannot change another owner's session", async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        expect((await rejection(store.update(session.id, 'mallory', { errorMessage: 'pwned' }))).code).toBe(ErrorCode.NotFound);
        expect((await store.get(session.id, 'alice')).errorMessage).toBeNull();
      });
    });

    describe('node results', () => {
      it('stores results one node at a time, replacing a node when written again', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest, dag: samplePlan });
        await store.putNodeResult(session.id, 'alice', 'paris', sampleResult({ status: 'running', output: null, finishedAt: null }));
        await store.putNodeResult(session.id, 'alice', 'rome', sampleResult({ output: 'Cloudy' }));
        await store.putNodeResult(session.id, 'alice', 'paris', sampleResult());

        const loaded = await store.get(session.id, 'alice');
        expect(loaded.nodes).toEqual({ paris: sampleResult(), rome: sampleResult({ output: 'Cloudy' }) });
      });

      it('rejects writes to missing or foreign sessions and invalid results', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        expect((await rejection(store.putNodeResult(session.id, 'mallory', 'paris', sampleResult()))).code).toBe(ErrorCode.NotFound);
        expect((await rejection(store.putNodeResult('6f1c1d4e-7a59-4d39-a3f3-5b7f6bfe1f00', 'alice', 'paris', sampleResult()))).code).toBe(ErrorCode.NotFound);
        expect((await rejection(store.putNodeResult(session.id, 'alice', 'Bad Id', sampleResult()))).code).toBe(ErrorCode.InvalidRequest);
        expect((await rejection(store.putNodeResult(session.id, 'alice', 'paris', { ...sampleResult(), attempts: -1 }))).code).toBe(ErrorCode.InvalidRequest);
        expect((await store.get(session.id, 'alice')).nodes).toEqual({});
      });
    });

    describe('list', () => {
      it("lists only the owner's stored sessions, newest first, without finished ones", async () => {
        const older = await store.create({ owner: 'alice', request: sampleRequest });
        await harness.advance(5);
        const newer = await store.create({ owner: 'alice', request: sampleRequest });
        const done = await store.create({ owner: 'alice', request: sampleRequest });
        await store.create({ owner: 'bob', request: sampleRequest });
        await store.finish(done.id, 'alice', { status: 'completed' });

        expect((await store.list('alice')).map((record) => record.id)).toEqual([newer.id, older.id]);
        expect(await store.list('nobody')).toEqual([]);
      });

      it('drops expired sessions', async () => {
        const abandoned = await store.create({ owner: 'alice', request: sampleRequest });
        await harness.expireSession(abandoned.id);
        const kept = await store.create({ owner: 'alice', request: sampleRequest });
        expect((await store.list('alice')).map((record) => record.id)).toEqual([kept.id]);
        expect((await rejection(store.get(abandoned.id, 'alice'))).code).toBe(ErrorCode.NotFound);
      });
    });

    describe('finish and delete', () => {
      it('deletes a finished session and tells its owner how it ended (404 session_finished)', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        await store.putNodeResult(session.id, 'alice', 'paris', sampleResult());
        const tombstone = await store.finish(session.id, 'alice', { status: 'failed', errorType: 'upstream_error', errorMessage: 'weather agent down' });
        expect(tombstone).toMatchObject({ id: session.id, status: 'failed', errorType: 'upstream_error' });

        const error = await rejection(store.get(session.id, 'alice'));
        expect([error.code, error.status, error.wireCode]).toEqual([ErrorCode.NotFound, 404, 'session_finished']);
        expect(error.details).toMatchObject({ status: 'failed', error_type: 'upstream_error', error_message: 'weather agent down' });
        // Others learn nothing; and a finished session cannot be written to or finished again.
        expect((await rejection(store.get(session.id, 'mallory'))).wireCode).toBe('session_not_found');
        expect((await rejection(store.putNodeResult(session.id, 'alice', 'rome', sampleResult()))).code).toBe(ErrorCode.NotFound);
        expect((await rejection(store.finish(session.id, 'alice', { status: 'completed' }))).code).toBe(ErrorCode.NotFound);
      });

      it('delete removes a session without a tombstone; another owner cannot delete it', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        expect((await rejection(store.delete(session.id, 'mallory'))).code).toBe(ErrorCode.NotFound);
        await store.delete(session.id, 'alice');
        expect((await rejection(store.get(session.id, 'alice'))).wireCode).toBe('session_not_found');
      });
    });

    describe('leases', () => {
      it('gives the lease to one holder at a time: a second acquirer gets conflict (409) until release', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        const lease = await store.acquireLease(session.id, 'alice', { ttlMs: 10_000 });
        const busy = await rejection(store.acquireLease(session.id, 'alice'));
        expect([busy.code, busy.status]).toEqual([ErrorCode.Conflict, 409]);

        await lease.release();
        await lease.release();
        const next = await store.acquireLease(session.id, 'alice');
        expect(next.token).not.toBe(lease.token);
        await next.release();
      });

      it('waits for a lease up to waitMs', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        const first = await store.acquireLease(session.id, 'alice');
        const waiting = store.acquireLease(session.id, 'alice', { waitMs: 10_000 });
        await first.release();
        const second = await waiting;
        expect(second.lost.aborted).toBe(false);
        await second.release();
      });

      it('answers not_found for leases on missing or foreign sessions', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        expect((await rejection(store.acquireLease(session.id, 'mallory'))).code).toBe(ErrorCode.NotFound);
        expect((await rejection(store.acquireLease('6f1c1d4e-7a59-4d39-a3f3-5b7f6bfe1f00', 'alice'))).code).toBe(ErrorCode.NotFound);
      });

      it('hands every new holder a greater fencing token, also after an expiry, and sessions count apart', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        const other = await store.create({ owner: 'alice', request: sampleRequest });
        const first = await store.acquireLease(session.id, 'alice', { ttlMs: 10_000 });
        await first.release();
        const second = await store.acquireLease(session.id, 'alice', { ttlMs: 10_000 });
        expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
        await harness.expireLease(session.id);
        const third = await store.acquireLease(session.id, 'alice', { ttlMs: 10_000 });
        expect(third.fencingToken).toBeGreaterThan(second.fencingToken);
        const elsewhere = await store.acquireLease(other.id, 'alice');
        expect(elsewhere.fencingToken).toBe(1);
        await Promise.all([third.release(), elsewhere.release()]);
      });

      it('a holder whose lease expired and was taken over finds it lost, and cannot free the new lock', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        const stale = await store.acquireLease(session.id, 'alice', { ttlMs: 10_000 });
        await harness.expireLease(session.id);
        const fresh = await store.acquireLease(session.id, 'alice', { ttlMs: 10_000 });

        const lost = await rejection(stale.renew());
        expect(lost.code).toBe(ErrorCode.Conflict);
        expect(stale.lost.aborted).toBe(true);
        await stale.release();
        expect((await rejection(store.acquireLease(session.id, 'alice'))).code).toBe(ErrorCode.Conflict);
        await fresh.renew();
        await fresh.release();
      });

      it('withLock releases the lease when the work throws', async () => {
        const session = await store.create({ owner: 'alice', request: sampleRequest });
        const failure = new Error('work failed');
        await expect(store.withLock(session.id, 'alice', async () => Promise.reject(failure))).rejects.toBe(failure);
        expect(await store.withLock(session.id, 'alice', async (lease) => lease.sessionId)).toBe(session.id);
      });
    });

    describe('listResumable', () => {
      it('lists active sessions without a live lease: not locked ones, not waiting ones, not recent ones', async () => {
        const orphan = await store.create({ owner: 'alice', request: sampleRequest });
        const working = await store.create({ owner: 'bob', request: sampleRequest });
        const waiting = await store.create({ owner: 'alice', request: sampleRequest });
        const lease = await store.acquireLease(working.id, 'bob', { ttlMs: 10_000 });
        await store.update(waiting.id, 'alice', { status: 'waiting_approval' });

        expect((await store.listResumable()).map((record) => record.id)).toEqual([orphan.id]);
        expect(await store.listResumable({ minIdleMs: 60_000 })).toEqual([]);

        await harness.expireLease(working.id);
        expect((await store.listResumable()).map((record) => record.id).sort()).toEqual([orphan.id, working.id].sort());
        await lease.release();

        await store.update(waiting.id, 'alice', { status: 'active' });
        await store.finish(orphan.id, 'alice', { status: 'cancelled' });
        expect((await store.listResumable()).map((record) => record.id).sort()).toEqual([working.id, waiting.id].sort());
      });
    });
  });
}
