import dagre from '@dagrejs/dagre';

import type { LayoutInput } from './workflow-graph.js';

export interface Positioned {
  id: string;
  /** Top-left corner (what React Flow expects), not dagre's centre. */
  x: number;
  y: number;
}

/** Layered left-to-right layout: dependencies on the left, their dependents to the right. */
export function layeredLayout(input: LayoutInput): Positioned[] {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 64 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of input.nodes) graph.setNode(node.id, { width: node.width, height: node.height });
  for (const edge of input.edges) graph.setEdge(edge.source, edge.target);
  dagre.layout(graph);
  return input.nodes.map((node) => {
    const placed = graph.node(node.id);
    return { id: node.id, x: placed.x - node.width / 2, y: placed.y - node.height / 2 };
  });
}
