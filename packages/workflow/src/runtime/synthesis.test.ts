import type { NodeResult } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { missingResults, synthesisMessages } from './synthesis.js';
import { plan, planNode } from '../testing/harness.js';

/** The text of a prompt message (ours are always plain strings). */
function textOf(message: { content?: unknown } | undefined): string {
  return typeof message?.content === 'string' ? message.content : '';
}

function result(overrides: Partial<NodeResult>): NodeResult {
  return { status: 'completed', output: null, error: null, attempts: 1, agent: null, startedAt: null, finishedAt: null, taskId: null, approvalContext: null, skipReason: null, ...overrides };
}

const workflow = plan(
  planNode('facts', 'steady', 'facts'),
  planNode('search', 'lost', 'search'),
  planNode('digest', 'steady', '{{nodes.search.output}}', { dependsOn: ['search'] }),
  planNode('extra', 'steady', 'extra'),
);
const results: Record<string, NodeResult> = {
  facts: result({ output: 'It is sunny.', agent: 'steady' }),
  search: result({ status: 'failed', agent: 'lost', error: { code: 'upstream_unavailable', message: 'Agent "lost": cannot connect (ECONNREFUSED)' } }),
  digest: result({
    status: 'skipped',
    attempts: 0,
    skipReason: 'Dependency "search" failed: Agent "lost": cannot connect (ECONNREFUSED)',
    error: { code: 'dependency_failed', message: 'Dependency "search" failed: Agent "lost": cannot connect (ECONNREFUSED)' },
  }),
  // Skipped by its condition: not missing, nothing went wrong.
  extra: result({ status: 'skipped', attempts: 0, skipReason: 'condition not met' }),
};

describe('synthesis of a partial result', () => {
  it('lists the nodes missing because of a failure, with why', () => {
    expect(missingResults(workflow, results)).toEqual([
      { node: 'search', agent: 'lost', description: 'step search', status: 'failed', reason: 'Agent "lost": cannot connect (ECONNREFUSED)' },
      { node: 'digest', agent: 'steady', description: 'step digest', status: 'skipped', reason: 'Dependency "search" failed: Agent "lost": cannot connect (ECONNREFUSED)' },
    ]);
  });

  it('gives the model the missing results before the agent results, and tells it to say what is missing', () => {
    const [system, user] = synthesisMessages('weather?', workflow, results);
    expect(textOf(system)).toMatch(/say\s+plainly which part of the request is not covered and why/);
    const text = textOf(user);
    expect(text).toContain('Missing results (say so in the answer):\n- search: step search (failed: Agent "lost": cannot connect (ECONNREFUSED))\n- digest: step digest (skipped: Dependency "search" failed');
    expect(text.indexOf('Missing results')).toBeLessThan(text.indexOf('Agent results:'));
    expect(text).not.toMatch(/- extra:/);
  });

  it('adds nothing when nothing is missing', () => {
    const [, user] = synthesisMessages('weather?', plan(planNode('facts', 'steady', 'facts')), { facts: results['facts']! });
    expect(textOf(user)).not.toContain('Missing results');
  });
});
