import type { ExecutionPlan, NodeResult, PlanNode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { describeFailures, rejectedNodes } from './workflow.js';

function node(id: string, dependsOn: string[] = []): PlanNode {
  return { id, agent: 'worker', skill: null, input: id, dependsOn, condition: null, retry: { maxAttempts: 1, backoffMs: 0 }, timeoutMs: 1_000, fallbackAgent: null, description: id };
}

function failed(code: string, message: string, agent: string | null = 'worker'): NodeResult {
  return { status: 'failed', output: null, error: { code, message }, attempts: 1, agent, startedAt: null, finishedAt: null, taskId: null, approvalContext: null, skipReason: null };
}

const plan: ExecutionPlan = { goal: 'ship', rationale: 'test', nodes: [node('build'), node('deploy', ['build']), node('announce', ['deploy'])] };

describe('rejectedNodes / describeFailures', () => {
  it('a workflow stopped only by a rejected approval names the rejected node (dependents do not count)', () => {
    const results = { deploy: failed('approval_rejected', 'Approval rejected: not now', 'deployer'), announce: failed('dependency_failed', 'deploy failed') };
    expect(rejectedNodes(plan, results)).toEqual([{ node: 'deploy', agent: 'deployer' }]);
    expect(describeFailures(plan, results)).toBe('Node "deploy" (agent "deployer") did not proceed: Approval rejected: not now');
  });

  it('any real failure beside the rejection makes it a failure', () => {
    const results = { build: failed('upstream_error', 'boom'), deploy: failed('approval_rejected', 'Approval rejected', 'deployer') };
    expect(rejectedNodes(plan, results)).toBeUndefined();
    expect(describeFailures(plan, results)).toBe('Node "build" (agent "worker") failed: boom; Node "deploy" (agent "deployer") did not proceed: Approval rejected');
  });

  it('no failed node means no rejection', () => {
    expect(rejectedNodes(plan, {})).toBeUndefined();
  });
});
