import type { NodeResult } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { revisionFromPlan } from './plan-revision.js';
import { plan, planNode } from '../testing/harness.js';

function result(status: NodeResult['status']): NodeResult {
  return { status, output: status === 'completed' ? 'done' : null, error: null, attempts: 1, agent: 'a', startedAt: null, finishedAt: null, taskId: null, approvalContext: null, skipReason: null };
}

describe('revisionFromPlan', () => {
  const current = plan(planNode('done', 'a', 'x'), planNode('later', 'a', 'y', { dependsOn: ['done'] }), planNode('drop', 'a', 'z'));

  it('adds new nodes, updates changed pending ones and skips pending ones the new plan dropped', () => {
    const next = plan(planNode('done', 'a', 'x'), planNode('later', 'b', 'y', { dependsOn: ['done'] }), planNode('extra', 'c', 'w', { dependsOn: ['later'] }));
    expect(revisionFromPlan(current, next, { done: result('completed') }, 'why')).toEqual({
      reason: 'why',
      skipNodes: ['drop'],
      addNodes: [next.nodes[2]],
      updateNodes: [next.nodes[1]],
    });
  });

  it('leaves frozen nodes alone even when the new plan changes or drops them', () => {
    const next = plan(planNode('done', 'z', 'changed'), planNode('later', 'a', 'y', { dependsOn: ['done'] }), planNode('drop', 'a', 'z'));
    expect(revisionFromPlan(current, next, { done: result('completed') }, 'why')).toBeNull();
    const withoutDone = plan(planNode('later', 'a', 'y', { dependsOn: ['done'] }), planNode('drop', 'a', 'z'));
    expect(revisionFromPlan(current, withoutDone, { done: result('running') }, 'why')).toBeNull();
  });

  it('ignores key order when comparing nodes', () => {
    const reordered = plan(
      ...current.nodes.map((node) => Object.fromEntries(Object.entries(node).reverse()) as typeof node),
    );
    expect(revisionFromPlan(current, reordered, {}, 'why')).toBeNull();
  });
});
