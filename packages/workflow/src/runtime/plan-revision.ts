import type { ExecutionPlan, NodeResult, PlanNode, PlanRevision } from '@ensemble/protocol';

/**
 * The revision that turns `current` into `next` for the nodes that can still change (pending ones).
 * Used when the planner returns only a full plan. Nodes that already ran, run or were skipped are
 * frozen: differences on them are ignored rather than failing the whole revision. `null` = no change.
 */
export function revisionFromPlan(current: ExecutionPlan, next: ExecutionPlan, results: Readonly<Record<string, NodeResult>>, reason: string): PlanRevision | null {
  const isPending = (id: string) => (results[id]?.status ?? 'pending') === 'pending';
  const before = new Map(current.nodes.map((node) => [node.id, node]));
  const after = new Map(next.nodes.map((node) => [node.id, node]));
  const skipNodes = current.nodes.filter((node) => isPending(node.id) && !after.has(node.id)).map((node) => node.id);
  const addNodes: PlanNode[] = next.nodes.filter((node) => !before.has(node.id));
  const updateNodes: PlanNode[] = next.nodes.filter((node) => {
    const old = before.get(node.id);
    return old !== undefined && isPending(node.id) && !sameNode(old, node);
  });
  if (skipNodes.length === 0 && addNodes.length === 0 && updateNodes.length === 0) return null;
  return { reason, skipNodes, addNodes, updateNodes };
}

function sameNode(a: PlanNode, b: PlanNode): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Key order must not make two equal nodes look different. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([key, item]) => [key, canonical(item)]));
  }
  return value;
}
