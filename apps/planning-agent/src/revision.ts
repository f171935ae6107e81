import { isDeepStrictEqual } from 'node:util';

import type { ExecutionPlan, PlanNode, PlanRevision, ReplanRequest } from '@ensemble/protocol';

/**
 * Ids of the nodes a revision may not touch: every node with a result other than `pending` (completed,
 * failed, skipped, running, waiting for approval). The engine only lets a revision skip or replace
 * pending nodes, so these must come back exactly as they were.
 */
export function frozenNodeIds(replan: ReplanRequest): Set<string> {
  return new Set(
    replan.plan.nodes.filter((node) => {
      const status = replan.results[node.id]?.status;
      return status !== undefined && status !== 'pending';
    }).map((node) => node.id),
  );
}

/** Problems with a revised plan that changed or dropped a frozen node, one line each for the model. */
export function frozenNodeProblems(replan: ReplanRequest, revised: ExecutionPlan): string[] {
  const frozen = frozenNodeIds(replan);
  const revisedById = new Map(revised.nodes.map((node) => [node.id, node]));
  const problems: string[] = [];
  for (const node of replan.plan.nodes) {
    if (!frozen.has(node.id)) continue;
    const status = replan.results[node.id]?.status ?? 'pending';
    const kept = revisedById.get(node.id);
    if (kept === undefined) {
      problems.push(`nodes: node "${node.id}" is ${status} and must stay in the plan unchanged, but it is missing`);
    } else if (!sameNode(kept, node)) {
      problems.push(`nodes: node "${node.id}" is ${status} and must stay unchanged, but its ${changedFields(kept, node).join(', ')} changed; copy it exactly from the current plan`);
    }
  }
  return problems;
}

/**
 * The change from the current plan to a (validated) revised plan, in the engine's `PlanRevision` terms:
 * pending nodes missing from the revision are skipped, new ids are added, pending nodes whose definition
 * changed are updated. Frozen nodes are never part of it (`frozenNodeProblems` keeps them unchanged).
 */
export function diffPlans(replan: ReplanRequest, revised: ExecutionPlan): PlanRevision {
  const frozen = frozenNodeIds(replan);
  const currentById = new Map(replan.plan.nodes.map((node) => [node.id, node]));
  const revisedIds = new Set(revised.nodes.map((node) => node.id));
  return {
    reason: replan.reason,
    skipNodes: replan.plan.nodes.filter((node) => !frozen.has(node.id) && !revisedIds.has(node.id)).map((node) => node.id),
    addNodes: revised.nodes.filter((node) => !currentById.has(node.id)),
    updateNodes: revised.nodes.filter((node) => {
      const current = currentById.get(node.id);
      return current !== undefined && !frozen.has(node.id) && !sameNode(current, node);
    }),
  };
}

function sameNode(a: PlanNode, b: PlanNode): boolean {
  return isDeepStrictEqual(normalize(a), normalize(b));
}

/** Compared as data: key order and dependency order do not make a different node. */
function normalize(node: PlanNode): PlanNode {
  return { ...node, dependsOn: [...node.dependsOn].sort() };
}

function changedFields(a: PlanNode, b: PlanNode): string[] {
  const left = normalize(a);
  const right = normalize(b);
  return (Object.keys(right) as (keyof PlanNode)[]).filter((key) => !isDeepStrictEqual(left[key], right[key]));
}
