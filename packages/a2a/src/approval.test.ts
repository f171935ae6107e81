import { TaskState } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';

import { approvalMessage, readApprovalAnswer, readApprovalRequest } from './approval.js';
import { agentMessage, partsText, userMessage } from './parts.js';

describe('readApprovalAnswer', () => {
  it.each([
    ['approve', { decision: 'approve' }],
    ['Approved.', { decision: 'approve' }],
    ['  reject: too risky ', { decision: 'reject', comment: 'too risky' }],
    ['REJECTED - wrong account', { decision: 'reject', comment: 'wrong account' }],
    ['approve, but log it', { decision: 'approve', comment: 'but log it' }],
  ])('reads the text %j', (text, expected) => {
    expect(readApprovalAnswer(userMessage({ text }))).toEqual(expected);
  });

  it.each([['yes please'], ['I approve'], ['approval'], ['']])('does not take %j for an answer', (text) => {
    expect(readApprovalAnswer(userMessage({ text }))).toBeUndefined();
  });

  it('prefers the data part, and ignores data that is not a valid answer', () => {
    expect(readApprovalAnswer(userMessage({ text: 'approve', data: { approval: { decision: 'reject', comment: 'changed my mind' } } }))).toEqual({
      decision: 'reject',
      comment: 'changed my mind',
    });
    expect(readApprovalAnswer(userMessage({ data: { approval: { decision: 'maybe' } } }))).toBeUndefined();
  });

  it('round-trips through approvalMessage', () => {
    const message = approvalMessage({ taskId: 't1', contextId: 'c1', decision: 'approve', comment: 'ok' });
    expect(message).toMatchObject({ taskId: 't1', contextId: 'c1' });
    expect(partsText(message.parts)).toBe('approve: ok');
    expect(readApprovalAnswer(message)).toEqual({ decision: 'approve', comment: 'ok' });
  });
});

describe('readApprovalRequest', () => {
  it('reads the request from an auth-required status message, and nothing from other tasks', () => {
    const request = { key: 'delete', summary: 'Delete 3 files.', details: { files: ['a', 'b', 'c'] } };
    const waiting = {
      id: 't',
      contextId: 'c',
      status: { state: TaskState.TASK_STATE_AUTH_REQUIRED, message: agentMessage({ text: 'Approval needed', data: { approvalRequest: request } }), timestamp: undefined },
      artifacts: [],
      history: [],
      metadata: undefined,
    };
    expect(readApprovalRequest(waiting)).toEqual(request);
    expect(readApprovalRequest({ ...waiting, status: { ...waiting.status, message: agentMessage({ text: 'working' }) } })).toBeUndefined();
  });
});
