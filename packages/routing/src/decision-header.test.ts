import type { RoutingDecision } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { formatRoutingDecisionHeader, parseRoutingDecisionHeader } from './decision-header.js';

describe('X-Routing-Decision header', () => {
  it('renders a readable structured-field item', () => {
    expect(formatRoutingDecisionHeader({ path: 'passthrough', source: 'rule', reason: "request sets 'tools'" })).toBe(
      `passthrough; source=rule; reason="request sets 'tools'"`,
    );
    expect(formatRoutingDecisionHeader({ path: 'orchestration', source: 'classifier', cached: true, reason: 'multi-step' })).toBe(
      'orchestration; source=classifier; cached; reason="multi-step"',
    );
    // The local stage's confidence is in its reason; the number itself goes to the log and the span.
    expect(formatRoutingDecisionHeader({ path: 'passthrough', source: 'local', confidence: 1, reason: 'small talk: one reply answers it' })).toBe(
      'passthrough; source=local; reason="small talk: one reply answers it"',
    );
  });

  it('round-trips decisions, escaping quotes and backslashes', () => {
    const decisions: RoutingDecision[] = [
      { path: 'passthrough', source: 'fallback', reason: 'classifier timed out after 3000 ms; answering directly' },
      { path: 'orchestration', source: 'classifier', cached: true, reason: 'needs "research" across C:\\docs' },
      { path: 'passthrough', source: 'header', reason: '' },
      { path: 'orchestration', source: 'local', reason: 'local model: a multi-step or tool-using request (0.97)' },
    ];
    for (const decision of decisions) {
      expect(parseRoutingDecisionHeader(formatRoutingDecisionHeader(decision))).toEqual(decision);
    }
  });

  it('keeps the header value printable ASCII and bounded', () => {
    const value = formatRoutingDecisionHeader({ path: 'passthrough', source: 'classifier', reason: `café\r\nX-Evil: 1 ${'x'.repeat(500)}` });
    expect(value).toMatch(/^[\x20-\x7e]+$/);
    expect(value.length).toBeLessThan(260);
    expect(parseRoutingDecisionHeader(value)?.reason.startsWith('caf???X-Evil: 1 ')).toBe(true);
  });

  it('returns undefined for values that are not decisions', () => {
    expect(parseRoutingDecisionHeader('maybe; source=rule; reason="x"')).toBeUndefined();
    expect(parseRoutingDecisionHeader('passthrough; source=somewhere; reason="x"')).toBeUndefined();
    expect(parseRoutingDecisionHeader('{"path":"passthrough"}')).toBeUndefined();
  });
});
