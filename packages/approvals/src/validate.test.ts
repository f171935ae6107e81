import { ErrorCode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { InMemoryApprovalStore } from './memory-store.js';
import { sampleApproval } from './testing/conformance.js';
import { decisionFromRequest } from './validate.js';

describe('decisionFromRequest', () => {
  const store = new InMemoryApprovalStore();

  it('approves with arguments that satisfy the schema, and names the bad field otherwise', async () => {
    const record = await store.create(sampleApproval());
    expect(decisionFromRequest(record, { decision: 'approve', arguments: { service: 'payments', environment: 'staging' }, comment: 'staging first' }, 'alice')).toEqual({
      decision: 'approved',
      decidedBy: 'alice',
      comment: 'staging first',
      arguments: { service: 'payments', environment: 'staging' },
    });
    expect(() => decisionFromRequest(record, { decision: 'approve', arguments: { service: 'payments', environment: 'moon' } }, 'alice')).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidRequest, details: { param: 'arguments.environment' } }),
    );
    expect(() => decisionFromRequest(record, { decision: 'approve', arguments: { environment: 'staging' } }, 'alice')).toThrow(expect.objectContaining({ details: { param: 'arguments.service' } }));
    expect(() => decisionFromRequest(record, { decision: 'reject', arguments: { service: 'x', environment: 'staging' } }, 'alice')).toThrow(expect.objectContaining({ details: { param: 'arguments' } }));
    expect(decisionFromRequest(record, { decision: 'reject' }, 'alice')).toEqual({ decision: 'rejected', decidedBy: 'alice', comment: null });
  });

  it('an input approval takes an answer (or a rejection); an approval refuses an answer', async () => {
    const input = await store.create(sampleApproval({ kind: 'input', question: 'Which region?', arguments: null, argumentsSchema: null }));
    expect(decisionFromRequest(input, { answer: 'eu-west-1' }, 'alice')).toEqual({ decision: 'approved', decidedBy: 'alice', comment: null, answer: 'eu-west-1' });
    expect(() => decisionFromRequest(input, { decision: 'approve' }, 'alice')).toThrow(expect.objectContaining({ details: { param: 'decision' } }));
    expect(decisionFromRequest(input, { decision: 'reject' }, 'alice').decision).toBe('rejected');
    const approval = await store.create(sampleApproval());
    expect(() => decisionFromRequest(approval, { answer: 'yes' }, 'alice')).toThrow(expect.objectContaining({ details: { param: 'answer' } }));
  });
});
