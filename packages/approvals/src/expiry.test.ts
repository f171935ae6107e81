import type { ApprovalRecord } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { sweepExpiredApprovals } from './expiry.js';
import { InMemoryApprovalStore } from './memory-store.js';
import { sampleApproval } from './testing/conformance.js';

describe('sweepExpiredApprovals', () => {
  it('hands each due approval to onExpired exactly once, and none before its deadline', async () => {
    let now = Date.UTC(2026, 0, 1);
    const store = new InMemoryApprovalStore({ now: () => now });
    const due = await Promise.all(Array.from({ length: 150 }, () => store.create(sampleApproval({ timeoutSeconds: 60 }))));
    const later = await store.create(sampleApproval({ timeoutSeconds: 600 }));
    const seen: ApprovalRecord[] = [];
    expect(await sweepExpiredApprovals(store, (record) => seen.push(record))).toBe(0);
    now += 60_000;
    expect(await sweepExpiredApprovals(store, (record) => seen.push(record))).toBe(150);
    expect(await sweepExpiredApprovals(store, (record) => seen.push(record))).toBe(0);
    expect(seen.map((record) => record.id).sort()).toEqual(due.map((record) => record.id).sort());
    expect(seen.every((record) => record.status === 'expired')).toBe(true);
    expect((await store.get(later.id, 'alice'))?.status).toBe('pending');
  });
});
