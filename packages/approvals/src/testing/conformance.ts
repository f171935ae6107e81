import { randomUUID } from 'node:crypto';

import { type EnsembleError, ErrorCode } from '@ensemble/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { ApprovalStore, NewApproval } from '../approval-store.js';
import { rejection } from '@ensemble/protocol/testing';

/** What the suite needs from an implementation. */
export interface ApprovalStoreHarness {
  /** A store whose clock is `now()` (ms); handles opened by `open` share their data (another process's view). */
  open(now: () => number): Promise<ApprovalStore>;
  cleanup(): Promise<void>;
}


/** A pending approval request as the orchestrator makes one for a paused node. */
export function sampleApproval(overrides: Partial<NewApproval> = {}): NewApproval {
  return {
    owner: 'alice',
    sessionId: randomUUID(),
    nodeId: 'restart',
    agent: 'operations',
    kind: 'approval',
    action: 'Restart the payments service in production',
    reason: 'The user asked for it',
    risks: ['Requests in flight fail', 'About 30 s of downtime'],
    impact: 'payments (production)',
    arguments: { service: 'payments', environment: 'production' },
    argumentsSchema: { type: 'object', properties: { service: { type: 'string' }, environment: { type: 'string', enum: ['staging', 'production'] } }, required: ['service', 'environment'] },
    question: null,
    timeoutSeconds: 3600,
    ...overrides,
  };
}

/**
 * The `ApprovalStore` contract as tests, run on every implementation (in-memory in a unit test, Redis in
 * an integration test) so they cannot drift apart. Time is an injected clock, never a sleep.
 */
export function describeApprovalStoreConformance(name: string, setup: () => Promise<ApprovalStoreHarness>): void {
  describe(`ApprovalStore conformance: ${name}`, () => {
    let harness: ApprovalStoreHarness;
    let store: ApprovalStore;
    let clock: number;
    const now = (): number => clock;
    const opened: ApprovalStore[] = [];
    const open = async (): Promise<ApprovalStore> => {
      const handle = await harness.open(now);
      opened.push(handle);
      return handle;
    };
    /** A unique owner per test: the Redis store's data is shared across tests of one file. */
    let owner: string;
    const create = (overrides: Partial<NewApproval> = {}) => store.create(sampleApproval({ owner, ...overrides }));

    beforeEach(async () => {
      clock = Date.UTC(2026, 0, 1, 12);
      harness = await setup();
      store = await open();
      owner = `owner-${randomUUID()}`;
    });
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((handle) => handle.close()));
      await harness.cleanup();
    });

    describe('create and get', () => {
      it('creates a pending record with a server id, deadlines from the clock, and reads it back for its owner', async () => {
        const created = await create({ timeoutSeconds: 90 });
        expect(created).toMatchObject({
          object: 'approval',
          owner,
          status: 'pending',
          kind: 'approval',
          action: 'Restart the payments service in production',
          risks: ['Requests in flight fail', 'About 30 s of downtime'],
          arguments: { service: 'payments', environment: 'production' },
          requested_arguments: { service: 'payments', environment: 'production' },
          requested_at: '2026-01-01T12:00:00.000Z',
          expires_at: '2026-01-01T12:01:30.000Z',
          decided_at: null,
          decided_by: null,
          comment: null,
          answer: null,
        });
        expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(await (await open()).get(created.id, owner)).toEqual(created);
      });

      it('another owner, or an unknown id, reads as missing', async () => {
        const created = await create();
        expect(await store.get(created.id, 'mallory')).toBeUndefined();
        expect(await store.get(randomUUID(), owner)).toBeUndefined();
      });

      it('keeps absent optional fields as null / empty, and an input request with its question', async () => {
        const created = await create({ kind: 'input', action: 'Answer a question', reason: undefined, risks: undefined, impact: undefined, arguments: null, argumentsSchema: null, question: 'Which region?' });
        expect(await store.get(created.id, owner)).toMatchObject({ kind: 'input', reason: null, risks: [], impact: null, arguments: null, arguments_schema: null, question: 'Which region?' });
      });
    });

    describe('decide', () => {
      it('approves once, recording who, when, the comment and the edited arguments; a second decision is a conflict', async () => {
        const created = await create();
        clock += 5_000;
        const decided = await store.decide(created.id, owner, { decision: 'approved', decidedBy: owner, comment: 'go', arguments: { service: 'payments', environment: 'staging' } });
        expect(decided).toMatchObject({ status: 'approved', decided_by: owner, decided_at: '2026-01-01T12:00:05.000Z', comment: 'go', arguments: { service: 'payments', environment: 'staging' }, requested_arguments: { service: 'payments', environment: 'production' } });
        expect(await store.get(created.id, owner)).toEqual(decided);
        const again = await rejection(store.decide(created.id, owner, { decision: 'rejected', decidedBy: owner }));
        expect(again.code).toBe(ErrorCode.Conflict);
        expect(again.details).toMatchObject({ approval_id: created.id, status: 'approved' });
        expect((await store.get(created.id, owner))?.status).toBe('approved');
      });

      it('keeps the requested arguments when approved without edits; records a rejection and an input answer', async () => {
        const approved = await store.decide((await create()).id, owner, { decision: 'approved', decidedBy: owner });
        expect(approved.arguments).toEqual({ service: 'payments', environment: 'production' });
        const rejected = await store.decide((await create()).id, owner, { decision: 'rejected', decidedBy: owner, comment: 'not now' });
        expect(rejected).toMatchObject({ status: 'rejected', comment: 'not now' });
        const input = await create({ kind: 'input', question: 'Which region?' });
        expect(await store.decide(input.id, owner, { decision: 'approved', decidedBy: owner, answer: 'eu-west-1' })).toMatchObject({ status: 'approved', answer: 'eu-west-1' });
      });

      it('of concurrent decisions on different handles exactly one wins', async () => {
        const created = await create();
        const handles = [store, ...(await Promise.all([1, 2, 3].map(() => open())))];
        const results = await Promise.allSettled(handles.map((handle, n) => handle.decide(created.id, owner, { decision: n % 2 === 0 ? 'approved' : 'rejected', decidedBy: `user-${n}` })));
        const won = results.filter((result) => result.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const result of results) if (result.status === 'rejected') expect((result.reason as EnsembleError).code).toBe(ErrorCode.Conflict);
        const winner = (won[0] as PromiseFulfilledResult<{ decided_by: string | null; status: string }>).value;
        expect(await store.get(created.id, owner)).toMatchObject({ decided_by: winner.decided_by, status: winner.status });
      });

      it("another owner's decision is not_found and changes nothing", async () => {
        const created = await create();
        const refused = await rejection(store.decide(created.id, 'mallory', { decision: 'approved', decidedBy: 'mallory' }));
        expect(refused.code).toBe(ErrorCode.NotFound);
        expect((await rejection(store.decide(randomUUID(), owner, { decision: 'approved', decidedBy: owner }))).code).toBe(ErrorCode.NotFound);
        expect(await store.get(created.id, owner)).toEqual(created);
      });
    });

    describe('list', () => {
      it('lists only the owner’s, pending first then newest first, filtered by status and session', async () => {
        const session = randomUUID();
        const oldest = await create({ sessionId: session });
        clock += 1_000;
        const middle = await create();
        clock += 1_000;
        const newest = await create({ sessionId: session });
        await store.create(sampleApproval({ owner: `${owner}-other` }));
        await store.decide(newest.id, owner, { decision: 'rejected', decidedBy: owner });
        const all = await store.list(owner);
        expect(all.data.map((record) => record.id)).toEqual([middle.id, oldest.id, newest.id]);
        expect(all.nextCursor).toBeNull();
        expect((await store.list(owner, { status: 'pending' })).data.map((record) => record.id)).toEqual([middle.id, oldest.id]);
        expect((await store.list(owner, { status: 'rejected' })).data.map((record) => record.id)).toEqual([newest.id]);
        expect((await store.list(owner, { sessionId: session })).data.map((record) => record.id)).toEqual([oldest.id, newest.id]);
        expect((await store.list(owner, { sessionId: session, status: 'pending' })).data.map((record) => record.id)).toEqual([oldest.id]);
        expect((await store.list('nobody')).data).toEqual([]);
      });

      it('pages with a cursor: every record exactly once, in order', async () => {
        const ids: string[] = [];
        for (let n = 0; n < 7; n += 1) {
          ids.unshift((await create()).id);
          clock += 10;
        }
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list(owner, { limit: 3, ...(cursor === undefined ? {} : { cursor }) });
          seen.push(...page.data.map((record) => record.id));
          cursor = page.nextCursor ?? undefined;
          pages += 1;
        } while (cursor !== undefined);
        expect(seen).toEqual(ids);
        expect(pages).toBe(3);
      });

      it('refuses a bad limit or cursor with invalid_request naming the parameter', async () => {
        for (const options of [{ limit: 0 }, { limit: 101 }, { limit: 1.5 }, { cursor: 'not-a-cursor' }]) {
          const refused = await rejection(store.list(owner, options));
          expect(refused.code).toBe(ErrorCode.InvalidRequest);
          expect(refused.details?.['param']).toBe(Object.keys(options)[0]);
        }
      });
    });

    describe('wake-ups', () => {
      const ofSession = async (sessionId: string, options?: { minAgeMs?: number }) => (await store.wakeups(options)).filter((wakeup) => wakeup.sessionId === sessionId);

      it('a decision wakes its session (with its owner), listed once the wake-up is old enough, until cleared', async () => {
        const first = await create();
        const second = await create({ sessionId: first.session_id, nodeId: 'deploy' });
        expect(await ofSession(first.session_id)).toEqual([]);
        await store.decide(first.id, owner, { decision: 'approved', decidedBy: owner });
        const decidedAt = clock;
        clock += 1_000;
        await store.decide(second.id, owner, { decision: 'rejected', decidedBy: owner });
        // One entry per session, at its latest decision.
        expect(await ofSession(first.session_id)).toEqual([{ sessionId: first.session_id, owner, at: decidedAt + 1_000 }]);
        expect(await ofSession(first.session_id, { minAgeMs: 1 })).toEqual([]);
        clock += 5_000;
        const [wakeup] = await ofSession(first.session_id, { minAgeMs: 5_000 });
        expect(wakeup).toBeDefined();
        await store.clearWakeup(wakeup!);
        expect(await ofSession(first.session_id)).toEqual([]);
      });

      it('a decision made after the wake-up was read keeps the session listed when that wake-up is cleared', async () => {
        const first = await create();
        const second = await create({ sessionId: first.session_id, nodeId: 'deploy' });
        await store.decide(first.id, owner, { decision: 'approved', decidedBy: owner });
        const [read] = await ofSession(first.session_id);
        clock += 10;
        await store.decide(second.id, owner, { decision: 'approved', decidedBy: owner });
        await store.clearWakeup(read!);
        expect(await ofSession(first.session_id)).toEqual([{ sessionId: first.session_id, owner, at: clock }]);
      });

      it('a failed decision (conflict, another owner) wakes nothing', async () => {
        const record = await create();
        await rejection(store.decide(record.id, 'someone-else', { decision: 'approved', decidedBy: 'someone-else' }));
        expect(await ofSession(record.session_id)).toEqual([]);
      });
    });

    describe('expiry', () => {
      it('claims a pending approval once its deadline passed, exactly once, as expired; decided ones never', async () => {
        const soon = await create({ timeoutSeconds: 60 });
        const decided = await create({ timeoutSeconds: 60 });
        const later = await create({ timeoutSeconds: 600 });
        await store.decide(decided.id, owner, { decision: 'approved', decidedBy: owner });
        expect(await store.nextDeadlineIn()).toBeLessThanOrEqual(60_000);
        clock += 59_999;
        expect(await store.claimExpired()).toEqual([]);
        clock += 1;
        const claimed = await store.claimExpired();
        expect(claimed.map((record) => record.id)).toEqual([soon.id]);
        expect(claimed[0]).toMatchObject({ status: 'expired', decided_at: '2026-01-01T12:01:00.000Z', decided_by: null, arguments: soon.arguments });
        expect(await store.claimExpired()).toEqual([]);
        expect((await store.get(soon.id, owner))?.status).toBe('expired');
        expect((await store.get(decided.id, owner))?.status).toBe('approved');
        expect((await store.get(later.id, owner))?.status).toBe('pending');
        const late = await rejection(store.decide(soon.id, owner, { decision: 'approved', decidedBy: owner }));
        expect(late.code).toBe(ErrorCode.Conflict);
        expect(late.details?.['status']).toBe('expired');
      });

      it('an expiry wakes its session like a decision does', async () => {
        const record = await create({ timeoutSeconds: 60 });
        clock += 60_000;
        await store.claimExpired();
        const woken = (await store.wakeups()).filter((wakeup) => wakeup.sessionId === record.session_id);
        expect(woken).toEqual([{ sessionId: record.session_id, owner, at: clock }]);
      });

      it('concurrent claimers on different handles expire each approval exactly once', async () => {
        const created = await Promise.all(Array.from({ length: 10 }, () => create({ timeoutSeconds: 1 })));
        clock += 1_000;
        const handles = [store, ...(await Promise.all([1, 2, 3].map(() => open())))];
        const claims = await Promise.all(handles.map((handle) => handle.claimExpired(4)));
        const more = await Promise.all(handles.map((handle) => handle.claimExpired()));
        const ids = [...claims, ...more].flat().map((record) => record.id).filter((id) => created.some((record) => record.id === id));
        expect(ids.sort()).toEqual(created.map((record) => record.id).sort());
      });
    });
  });
}
