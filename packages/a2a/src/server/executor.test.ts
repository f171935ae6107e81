import { describe, expect, it } from 'vitest';

import { approvalPrompt, approvalQuestion } from './executor.js';

describe('approval prompts', () => {
  it('give back what a prompt asks, without its framing, and leave other text alone', () => {
    expect(approvalQuestion(approvalPrompt('Delete 3 files?'))).toBe('Delete 3 files?');
    // An agent that prefaces its prompt keeps the preface.
    expect(approvalQuestion(`Checked the plan. ${approvalPrompt('Deploy 1.2?')}`)).toBe('Checked the plan. Deploy 1.2?');
    expect(approvalQuestion('May I restart payments?')).toBe('May I restart payments?');
  });
});
