/**
 * The workflow graph the console draws, as a pure fold over the session's event log (`WorkflowEvent`
 * records of CONTRACTS.md). No React, no DOM: the same fold rebuilds the graph after a reload (replaying
 * the log from position 1) and keeps it live (appending frames of the event stream), so both give the
 * same picture.
 */

export type NodeState = 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'waiting_approval';

/** Human names of the states: shown next to the colour so the state never depends on colour alone. */
export const NODE_STATE_LABELS: Readonly<Record<NodeState, string>> = {
  pending: 'pending',
  running: 'running',
  done: 'done',
  failed: 'failed',
  skipped: 'skipped',
  waiting_approval: 'waiting for approval',
};

/** The subset of `ReasoningEvent` (packages/protocol) the graph reads. */
export interface ProgressEvent {
  type: string;
  agent?: string;
  node?: string;
  sequence?: number;
  message?: string;
  metadata?: Record<string, unknown>;
}

export type WorkflowRecord = { position: number; at: string } & (
  | { kind: 'progress'; event: ProgressEvent }
  | { kind: 'answer'; text: string }
  | { kind: 'usage'; usage: Record<string, number> }
  | { kind: 'turn'; state: string; turn: number; error?: { type: string; message: string } }
  | { kind: 'truncated' }
);

export interface PendingApproval {
  approvalId: string;
  action?: string;
  reason?: string;
}

export interface GraphNode {
  id: string;
  agent: string;
  skill: string;
  description: string;
  dependsOn: readonly string[];
  state: NodeState;
  startedAt?: string;
  finishedAt?: string;
  /** Wall time from the first start to the end, when both are known. */
  durationMs?: number;
  retries: number;
  output?: string;
  error?: string;
  approval?: PendingApproval;
  /** Positions of the events about this node, oldest first (the node panel lists them). */
  eventPositions: readonly number[];
}

export interface WorkflowGraph {
  goal?: string;
  nodes: readonly GraphNode[];
  /** The last position folded in: the stream resumes after it (`Last-Event-ID`). */
  lastPosition: number;
  answer: string;
  turnState?: string;
  turnError?: string;
  /** The log was trimmed before the first event we have: the graph may lack early events. */
  truncated: boolean;
}

export const EMPTY_GRAPH: WorkflowGraph = { nodes: [], lastPosition: 0, answer: '', truncated: false };

interface PlanNode {
  id: string;
  agent: string;
  skill: string;
  depends_on: readonly string[];
  description: string;
}

function readPlanNodes(metadata: Record<string, unknown> | undefined): PlanNode[] | undefined {
  const plan = metadata?.['plan'];
  if (typeof plan !== 'object' || plan === null) return undefined;
  const nodes = (plan as { nodes?: unknown }).nodes;
  if (!Array.isArray(nodes)) return undefined;
  return nodes.flatMap((raw: unknown): PlanNode[] => {
    if (typeof raw !== 'object' || raw === null) return [];
    const node = raw as Record<string, unknown>;
    if (typeof node['id'] !== 'string') return [];
    const dependsOn = Array.isArray(node['depends_on']) ? node['depends_on'].filter((id): id is string => typeof id === 'string') : [];
    return [
      {
        id: node['id'],
        agent: typeof node['agent'] === 'string' ? node['agent'] : '',
        skill: typeof node['skill'] === 'string' ? node['skill'] : '',
        depends_on: dependsOn,
        description: typeof node['description'] === 'string' ? node['description'] : '',
      },
    ];
  });
}

function readGoal(metadata: Record<string, unknown> | undefined): string | undefined {
  const plan = metadata?.['plan'];
  if (typeof plan !== 'object' || plan === null) return undefined;
  const goal = (plan as { goal?: unknown }).goal;
  return typeof goal === 'string' ? goal : undefined;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

function durationBetween(startedAt: string | undefined, finishedAt: string): number | undefined {
  if (startedAt === undefined) return undefined;
  const duration = Date.parse(finishedAt) - Date.parse(startedAt);
  return Number.isFinite(duration) && duration >= 0 ? duration : undefined;
}

/** Applies a node change, creating the node when the plan did not list it (events can outlive a replan). */
function updateNode(graph: WorkflowGraph, id: string, position: number, change: (node: GraphNode) => Partial<GraphNode>, agent?: string): WorkflowGraph {
  const existing = graph.nodes.find((node) => node.id === id);
  const base: GraphNode = existing ?? { id, agent: agent ?? '', skill: '', description: '', dependsOn: [], state: 'pending', retries: 0, eventPositions: [] };
  const updated: GraphNode = { ...base, ...change(base), eventPositions: [...base.eventPositions, position] };
  const nodes = existing === undefined ? [...graph.nodes, updated] : graph.nodes.map((node) => (node.id === id ? updated : node));
  return { ...graph, nodes };
}

function finish(node: GraphNode, state: NodeState, at: string): Partial<GraphNode> {
  const durationMs = durationBetween(node.startedAt, at);
  return { state, finishedAt: at, approval: undefined, ...(durationMs === undefined ? {} : { durationMs }) };
}

function foldProgress(graph: WorkflowGraph, record: WorkflowRecord & { kind: 'progress' }): WorkflowGraph {
  const { event, position, at } = record;
  if (event.type === 'plan_ready' || event.type === 'replanned') {
    const planNodes = readPlanNodes(event.metadata);
    if (planNodes === undefined) return graph;
    // A replan keeps what already happened to nodes it carries over, and drops nodes it no longer lists
    // unless they already ran (their history stays visible).
    const nodes = planNodes.map((planNode): GraphNode => {
      const previous = graph.nodes.find((node) => node.id === planNode.id);
      return {
        ...(previous ?? { state: 'pending' as const, retries: 0, eventPositions: [] }),
        id: planNode.id,
        agent: planNode.agent,
        skill: planNode.skill,
        description: planNode.description,
        dependsOn: planNode.depends_on,
      };
    });
    const kept = graph.nodes.filter((node) => node.state !== 'pending' && !planNodes.some((planNode) => planNode.id === node.id));
    return { ...graph, goal: readGoal(event.metadata) ?? graph.goal, nodes: [...kept, ...nodes] };
  }
  const nodeId = event.node;
  if (nodeId === undefined) return graph;
  switch (event.type) {
    case 'node_started':
      return updateNode(graph, nodeId, position, (node) => ({ state: 'running', startedAt: node.startedAt ?? at, error: undefined }), event.agent);
    case 'node_completed':
      return updateNode(graph, nodeId, position, (node) => ({ ...finish(node, 'done', at), output: text(event.metadata?.['output']) ?? event.message ?? node.output }), event.agent);
    case 'node_failed':
      return updateNode(graph, nodeId, position, (node) => ({ ...finish(node, 'failed', at), error: text(event.metadata?.['error']) ?? event.message ?? 'failed' }), event.agent);
    case 'node_retrying':
      return updateNode(graph, nodeId, position, (node) => ({ state: 'running', retries: node.retries + 1, error: event.message ?? node.error }), event.agent);
    case 'node_skipped':
      return updateNode(graph, nodeId, position, (node) => ({ ...finish(node, 'skipped', at), error: event.message ?? node.error }), event.agent);
    case 'approval_required': {
      const approvalId = text(event.metadata?.['approval_id']) ?? '';
      const approval: PendingApproval = { approvalId, action: text(event.metadata?.['action']), reason: text(event.metadata?.['reason']) };
      return updateNode(graph, nodeId, position, () => ({ state: 'waiting_approval', approval }), event.agent);
    }
    case 'approval_decided': {
      const decision = event.metadata?.['decision'];
      if (decision === 'approved') return updateNode(graph, nodeId, position, () => ({ state: 'running', approval: undefined }), event.agent);
      return updateNode(graph, nodeId, position, (node) => ({ ...finish(node, 'failed', at), error: `approval ${text(decision) ?? 'declined'}` }), event.agent);
    }
    default:
      // Thinking, tool calls, status lines: part of the node's history, no state change.
      return updateNode(graph, nodeId, position, () => ({}), event.agent);
  }
}

/**
 * Folds one record into the graph. Records at or before `lastPosition` are ignored, so a resumed stream
 * that repeats an event (or a JSON page overlapping the live stream) never counts it twice.
 */
export function foldWorkflowEvent(graph: WorkflowGraph, record: WorkflowRecord): WorkflowGraph {
  if (record.kind === 'truncated') return { ...graph, truncated: true };
  if (record.position <= graph.lastPosition) return graph;
  const advanced = { ...graph, lastPosition: record.position };
  switch (record.kind) {
    case 'progress':
      return foldProgress(advanced, record);
    case 'answer':
      return { ...advanced, answer: advanced.answer + record.text };
    case 'turn':
      return {
        ...advanced,
        turnState: record.state,
        // A new turn starts a new answer.
        answer: record.state === 'started' ? '' : advanced.answer,
        turnError: record.error?.message,
      };
    default:
      return advanced;
  }
}

export function foldWorkflowEvents(records: readonly WorkflowRecord[], from: WorkflowGraph = EMPTY_GRAPH): WorkflowGraph {
  return records.reduce(foldWorkflowEvent, from);
}

export interface LayoutInput {
  nodes: readonly { id: string; width: number; height: number }[];
  /** One edge per dependency, from the dependency to its dependent; edges to unknown nodes are dropped. */
  edges: readonly { id: string; source: string; target: string }[];
}

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 84;

export function layoutInput(graph: WorkflowGraph): LayoutInput {
  const ids = new Set(graph.nodes.map((node) => node.id));
  return {
    nodes: graph.nodes.map((node) => ({ id: node.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edges: graph.nodes.flatMap((node) =>
      node.dependsOn.filter((dependency) => ids.has(dependency)).map((dependency) => ({ id: `${dependency}->${node.id}`, source: dependency, target: node.id })),
    ),
  };
}

/** `GET /v1/sessions/{id}`: the session's latest snapshot (plan and per-node status). */
export interface SessionView {
  id: string;
  status: string;
  plan: { goal: string; nodes: readonly PlanNode[] } | null;
  nodes: Record<string, { status: string; agent?: string; attempts?: number; started_at?: string | null; finished_at?: string | null; output?: unknown; error?: unknown; skip_reason?: unknown }>;
}

const SNAPSHOT_STATES: Readonly<Record<string, NodeState>> = {
  pending: 'pending',
  running: 'running',
  completed: 'done',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'skipped',
  waiting_approval: 'waiting_approval',
};

/**
 * The graph from a session snapshot, for gateways without the event log (no positions, so no resume):
 * the console polls it instead of tailing `GET /v1/sessions/{id}/events`.
 */
export function graphFromSessionView(view: SessionView): WorkflowGraph {
  const nodes = (view.plan?.nodes ?? []).map((planNode): GraphNode => {
    const status = view.nodes[planNode.id];
    const startedAt = status?.started_at ?? undefined;
    const finishedAt = status?.finished_at ?? undefined;
    const durationMs = finishedAt === undefined ? undefined : durationBetween(startedAt, finishedAt);
    return {
      id: planNode.id,
      agent: planNode.agent,
      skill: planNode.skill,
      description: planNode.description,
      dependsOn: planNode.depends_on,
      state: SNAPSHOT_STATES[status?.status ?? 'pending'] ?? 'pending',
      retries: Math.max(0, (status?.attempts ?? 1) - 1),
      eventPositions: [],
      ...(startedAt === undefined ? {} : { startedAt }),
      ...(finishedAt === undefined ? {} : { finishedAt }),
      ...(durationMs === undefined ? {} : { durationMs }),
      ...(status?.output === undefined || status.output === null ? {} : { output: text(status.output) }),
      ...(status?.error === undefined || status.error === null ? {} : { error: text(status.error) }),
    };
  });
  return { ...EMPTY_GRAPH, goal: view.plan?.goal, nodes, turnState: view.status };
}
