import { ErrorCode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { collectDecisions } from './decisions.js';
import { InMemoryApprovalStore } from './memory-store.js';
import { sampleApproval } from './testing/conformance.js';

async function twoPaused() {
  const store = new InMemoryApprovalStore();
  const restart = await store.create(sampleApproval({ sessionId: 's1', nodeId: 'restart' }));
  const deploy = await store.create(sampleApproval({ sessionId: 's1', nodeId: 'deploy', action: 'Deploy' }));
  return { store, restart, deploy, paused: [{ node: 'restart', approvalId: restart.id }, { node: 'deploy', approvalId: deploy.id }] };
}

describe('collectDecisions', () => {
  it('resumes only the nodes whose approval was decided, with the edited arguments; the rest stay pending', async () => {
    const { store, restart, deploy, paused } = await twoPaused();
    await store.decide(restart.id, 'alice', { decision: 'approved', decidedBy: 'alice', arguments: { service: 'payments', environment: 'staging' } });
    const collected = await collectDecisions(store, 'alice', paused, undefined);
    expect(collected.decisions).toEqual({ restart: { approved: true, comment: null, decidedBy: 'alice', arguments: { service: 'payments', environment: 'staging' } } });
    expect(collected.decided.map((record) => record.id)).toEqual([restart.id]);
    expect(collected.pending.map((record) => record.id)).toEqual([deploy.id]);
  });

  it('a chat answer decides the single pending approval, and is refused (conflict listing the ids) when several are pending', async () => {
    const { store, restart, deploy, paused } = await twoPaused();
    await expect(collectDecisions(store, 'alice', paused, { decision: 'approve' })).rejects.toMatchObject({ code: ErrorCode.Conflict, details: { approval_ids: [restart.id, deploy.id] } });
    expect((await store.get(restart.id, 'alice'))?.status).toBe('pending');
    await store.decide(deploy.id, 'alice', { decision: 'rejected', decidedBy: 'alice', comment: 'no' });
    const collected = await collectDecisions(store, 'alice', paused, { decision: 'approve', comment: 'fine' });
    expect(collected.decisions).toMatchObject({ restart: { approved: true, comment: 'fine' }, deploy: { approved: false, comment: 'no' } });
    expect((await store.get(restart.id, 'alice'))?.status).toBe('approved');
  });

  it('an expired approval resumes its node as rejected; a pause without a record takes the chat answer', async () => {
    let now = Date.UTC(2026, 0, 1);
    const store = new InMemoryApprovalStore({ now: () => now });
    const record = await store.create(sampleApproval({ timeoutSeconds: 10 }));
    now += 10_000;
    await store.claimExpired();
    const collected = await collectDecisions(store, 'alice', [{ node: 'restart', approvalId: record.id }, { node: 'legacy' }], { decision: 'approve' });
    expect(collected.decisions['restart']).toMatchObject({ approved: false, decidedBy: null });
    expect(collected.decisions['legacy']).toEqual({ approved: true, comment: null, decidedBy: 'alice' });
    expect(collected.expired).toEqual(['restart']);
  });

  it.each([
    ['reject', false],
    ['fail', false],
    ['approve', true],
  ] as const)('timeout action %s: an expired approval resumes its node approved=%s, with the requested arguments', async (action, approved) => {
    let now = Date.UTC(2026, 0, 1);
    const store = new InMemoryApprovalStore({ now: () => now });
    const record = await store.create(sampleApproval({ timeoutSeconds: 10 }));
    now += 10_000;
    await store.claimExpired();
    const collected = await collectDecisions(store, 'alice', [{ node: 'restart', approvalId: record.id }], undefined, action);
    expect(collected.decisions['restart']).toMatchObject({ approved, decidedBy: null, comment: `No decision before ${record.expires_at}` });
    if (approved) expect(collected.decisions['restart']?.arguments).toEqual(record.arguments);
    expect(collected.expired).toEqual(['restart']);
  });
});
