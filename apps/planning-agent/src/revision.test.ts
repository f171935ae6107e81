import type { ExecutionPlan, PlanNode, ReplanRequest } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { diffPlans, frozenNodeIds, frozenNodeProblems } from './revision.js';

function node(id: string, dependsOn: string[] = [], input = '{{request}}'): PlanNode {
  return { id, agent: 'a', skill: null, input, dependsOn, condition: null, retry: { maxAttempts: 1, backoffMs: 0 }, timeoutMs: 1000, fallbackAgent: null, description: id };
}

const current: ExecutionPlan = { goal: 'g', rationale: 'r', nodes: [node('done'), node('failed'), node('running'), node('later', ['done']), node('drop'), node('final', ['later', 'drop'])] };
const replan: ReplanRequest = {
  plan: current,
  reason: 'because',
  results: { done: { status: 'completed', output: 'x' }, failed: { status: 'failed', output: null }, running: { status: 'running', output: null }, later: { status: 'pending', output: null } },
};

describe('revisions', () => {
  it('freezes every node with a non-pending result', () => {
    expect([...frozenNodeIds(replan)]).toEqual(['done', 'failed', 'running']);
  });

  it('reports frozen nodes that were dropped or changed, naming the fields', () => {
    const revised: ExecutionPlan = { ...current, nodes: [{ ...node('done'), input: 'changed', description: 'other' }, node('running'), node('later', ['done'])] };
    expect(frozenNodeProblems(replan, revised)).toEqual([
      'nodes: node "done" is completed and must stay unchanged, but its input, description changed; copy it exactly from the current plan',
      'nodes: node "failed" is failed and must stay in the plan unchanged, but it is missing',
    ]);
  });

  it('ignores key order and dependency order', () => {
    const reordered = Object.fromEntries(Object.entries(node('final', ['drop', 'later'])).reverse()) as PlanNode;
    const revised: ExecutionPlan = { ...current, nodes: current.nodes.map((item) => (item.id === 'final' ? reordered : item)) };
    expect(frozenNodeProblems(replan, revised)).toEqual([]);
    expect(diffPlans(replan, revised)).toEqual({ reason: 'because', skipNodes: [], addNodes: [], updateNodes: [] });
  });

  it('diffs pending nodes into skip / add / update', () => {
    const revised: ExecutionPlan = {
      ...current,
      nodes: [node('done'), node('failed'), node('running'), node('later', ['done'], 'new input'), node('extra', ['done']), node('final', ['later', 'extra'])],
    };
    expect(diffPlans(replan, revised)).toEqual({
      reason: 'because',
      skipNodes: ['drop'],
      addNodes: [node('extra', ['done'])],
      updateNodes: [node('later', ['done'], 'new input'), node('final', ['later', 'extra'])],
    });
  });
});
