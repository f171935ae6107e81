import { describe, expect, it } from 'vitest';

import { InMemoryApprovalStore } from './memory-store.js';
import { approvalDecidedMetadata, approvalRequiredMetadata, pauseDetails } from './pause.js';

describe('pauseDetails', () => {
  it('reads action, reason, risks, impact, arguments and their schema from an approval request', () => {
    const schema = { type: 'object', properties: { service: { type: 'string' } } };
    const details = pauseDetails(
      'Restart payments?',
      {
        key: 'restart',
        summary: 'Restart the payments service in production',
        details: { action: 'Restart payments (production)', reason: 'Asked by the user', risks: ['30 s downtime'], impact: 'payments', arguments: { service: 'payments' }, input_schema: schema },
      },
      false,
    );
    expect(details).toEqual({
      kind: 'approval',
      action: 'Restart payments (production)',
      reason: 'Asked by the user',
      risks: ['30 s downtime'],
      impact: 'payments',
      arguments: { service: 'payments' },
      argumentsSchema: schema,
      question: 'Restart payments?',
      timeoutSeconds: null,
    });
  });

  it('takes the deadline an agent asks for (timeout_seconds), only as a positive whole number of seconds', () => {
    const withTimeout = (timeout: unknown) => pauseDetails('q', { key: 'k', summary: 's', details: { timeout_seconds: timeout } }, false).timeoutSeconds;
    expect(withTimeout(600)).toBe(600);
    for (const bad of [0, -5, 1.5, '600', null]) expect(withTimeout(bad)).toBeNull();
  });

  it('falls back to the summary, then the question, and ignores malformed fields', () => {
    expect(pauseDetails('Which region?', undefined, true)).toEqual({ kind: 'input', action: 'Which region?', reason: null, risks: [], impact: null, arguments: null, argumentsSchema: null, question: 'Which region?', timeoutSeconds: null });
    const details = pauseDetails('q', { key: 'k', summary: 'Delete the cache', details: { risks: 'data loss', arguments: ['not', 'an object'], arguments_schema: 'nope', reason: 42 } }, false);
    expect(details).toMatchObject({ action: 'Delete the cache', risks: ['data loss'], arguments: null, argumentsSchema: null, reason: null });
  });
});

describe('event metadata', () => {
  it('approval_required and approval_decided carry the contract fields', async () => {
    const store = new InMemoryApprovalStore({ now: () => Date.UTC(2026, 0, 1) });
    const record = await store.create({ owner: 'alice', sessionId: 's', nodeId: 'n', agent: 'operations', kind: 'approval', action: 'Restart', arguments: { service: 'a' }, timeoutSeconds: 60 });
    expect(approvalRequiredMetadata(record)).toEqual({ approval_id: record.id, kind: 'approval', action: 'Restart', reason: null, risks: [], impact: null, arguments: { service: 'a' }, expires_at: '2026-01-01T00:01:00.000Z' });
    const decided = await store.decide(record.id, 'alice', { decision: 'approved', decidedBy: 'alice', comment: 'ok', arguments: { service: 'b' } });
    expect(approvalDecidedMetadata(decided)).toEqual({ approval_id: record.id, decision: 'approved', decided_by: 'alice', comment: 'ok', arguments_before: { service: 'a' }, arguments_after: { service: 'b' } });
  });
});
