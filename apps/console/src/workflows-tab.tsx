import { type Edge, Handle, type Node, type NodeChange, type NodeProps, Position, ReactFlow } from '@xyflow/react';
import { type ReactNode, useCallback, useEffect, useMemo, useState } from 'react';

import { ErrorMessage } from './app.js';
import { ApiError, type SessionSummary, apiFetch, apiJson, readSse } from './api.js';
import { layeredLayout } from './model/layout.js';
import {
  EMPTY_GRAPH,
  type GraphNode,
  NODE_HEIGHT,
  NODE_STATE_LABELS,
  NODE_WIDTH,
  type SessionView,
  type WorkflowGraph,
  type WorkflowRecord,
  foldWorkflowEvent,
  graphFromSessionView,
  layoutInput,
} from './model/workflow-graph.js';

const SNAPSHOT_POLL_MS = 1_500;
const RECONNECT_DELAY_MS = 1_000;

type Connection = 'live' | 'reconnecting' | 'snapshot' | 'idle';

interface Watch {
  graph: WorkflowGraph;
  records: WorkflowRecord[];
  connection: Connection;
  error?: string;
}

/**
 * Tails `GET /v1/sessions/{id}/events` from position 0 (so a reload rebuilds the graph from the log) and
 * resumes after the last position it folded when the connection drops. A gateway without the event log
 * falls back to polling the session snapshot.
 */
function useWorkflow(sessionId: string | undefined): Watch {
  const [watch, setWatch] = useState<Watch>({ graph: EMPTY_GRAPH, records: [], connection: 'idle' });
  useEffect(() => {
    setWatch({ graph: EMPTY_GRAPH, records: [], connection: 'idle' });
    if (sessionId === undefined) return undefined;
    const controller = new AbortController();
    const path = `/v1/sessions/${encodeURIComponent(sessionId)}`;
    let lastPosition = 0;

    async function pollSnapshot() {
      while (!controller.signal.aborted) {
        try {
          const view = await apiJson<SessionView>(path, { signal: controller.signal });
          setWatch((current) => ({ ...current, graph: graphFromSessionView(view), connection: 'snapshot', error: undefined }));
        } catch (error) {
          if (controller.signal.aborted) return;
          // Unknown, expired or another caller's session (all a 404, alike): say so once and stop.
          if (error instanceof ApiError && error.status === 404) {
            setWatch((current) => ({ ...current, connection: 'idle', error: `Cannot open session ${sessionId}: ${error.message}` }));
            return;
          }
          setWatch((current) => ({ ...current, error: error instanceof Error ? error.message : String(error) }));
        }
        await new Promise((resolve) => setTimeout(resolve, SNAPSHOT_POLL_MS));
      }
    }

    async function tail() {
      let connected = false;
      while (!controller.signal.aborted) {
        try {
          const response = await apiFetch(`${path}/events`, {
            headers: { Accept: 'text/event-stream', ...(lastPosition > 0 ? { 'Last-Event-ID': String(lastPosition) } : {}) },
            signal: controller.signal,
          });
          connected = true;
          setWatch((current) => ({ ...current, connection: 'live', error: undefined }));
          await readSse(response, (frame) => {
            let record: WorkflowRecord;
            try {
              record = frame.event === 'truncated' ? { kind: 'truncated', position: 0, at: '' } : (JSON.parse(frame.data) as WorkflowRecord);
            } catch {
              return;
            }
            if (record.kind !== 'truncated') lastPosition = Math.max(lastPosition, record.position);
            setWatch((current) => ({ ...current, graph: foldWorkflowEvent(current.graph, record), records: record.kind === 'truncated' ? current.records : [...current.records, record] }));
          });
        } catch (error) {
          if (controller.signal.aborted) return;
          // Never connected: this gateway has no event log for the session; show its snapshot instead.
          if (!connected) return pollSnapshot();
          setWatch((current) => ({ ...current, error: error instanceof Error ? error.message : String(error) }));
        }
        if (controller.signal.aborted) return;
        setWatch((current) => ({ ...current, connection: 'reconnecting' }));
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
      }
    }

    void tail();
    return () => controller.abort();
  }, [sessionId]);
  return watch;
}

function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

type WorkflowNodeData = { node: GraphNode };

function WorkflowNode({ data }: NodeProps<Node<WorkflowNodeData>>): ReactNode {
  const { node } = data;
  return (
    <div className={`node ${node.state}`}>
      <Handle type="target" position={Position.Left} />
      <div>
        <strong>{node.agent}</strong>
        {skillSuffix(node)}
      </div>
      <div className="state">{NODE_STATE_LABELS[node.state]}</div>
      <div>
        {formatDuration(node.durationMs)}
        {node.retries > 0 ? ` · ${node.retries} retr${node.retries === 1 ? 'y' : 'ies'}` : ''}
      </div>
      {node.approval === undefined ? null : <div>Approval: {node.approval.action ?? node.approval.approvalId}</div>}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

const NODE_TYPES = { workflow: WorkflowNode };

/** ` · skill` after the agent's name, or nothing for a node planned by agent alone. */
function skillSuffix(node: GraphNode): string {
  return node.skill === '' ? '' : ` · ${node.skill}`;
}

/** A small plan is shown at its natural size, not blown up to fill the pane (React Flow zooms up to 2x). */
const FIT_VIEW = { maxZoom: 1 };

/** A node's accessible name: `id: agent skill, state`, e.g. `gather: researcher research, done` (`gather: researcher, done` without a skill). */
export function nodeName(node: GraphNode): string {
  return `${node.id}: ${[node.agent, node.skill].filter((part) => part !== '').join(' ')}, ${NODE_STATE_LABELS[node.state]}`;
}

export function WorkflowsTab({ sessionId, onSession }: { sessionId: string | undefined; onSession: (sessionId: string) => void }): ReactNode {
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [listError, setListError] = useState<unknown>(undefined);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const watch = useWorkflow(sessionId);

  useEffect(() => {
    apiJson<{ data: SessionSummary[] }>('/v1/sessions')
      .then((list) => setSessions(list.data))
      .catch((error: unknown) => setListError(error));
  }, [sessionId]);

  // React Flow measures each node and reports it as a `dimensions` change. In a controlled flow a node
  // object without `measured` is re-measured from scratch, and hidden until a resize, which never comes
  // when only its state text changes: so the measurements are kept here and passed back on every update.
  const [measured, setMeasured] = useState<Readonly<Record<string, { width: number; height: number }>>>({});
  const onNodesChange = useCallback((changes: NodeChange<Node<WorkflowNodeData>>[]) => {
    setMeasured((current) => {
      let next = current;
      for (const change of changes) if (change.type === 'dimensions' && change.dimensions !== undefined) next = { ...next, [change.id]: change.dimensions };
      return next;
    });
  }, []);

  const { nodes, edges } = useMemo(() => {
    const input = layoutInput(watch.graph);
    const positions = new Map(layeredLayout(input).map((position) => [position.id, position]));
    const flowNodes: Node<WorkflowNodeData>[] = watch.graph.nodes.map((node) => ({
      id: node.id,
      type: 'workflow',
      position: { x: positions.get(node.id)?.x ?? 0, y: positions.get(node.id)?.y ?? 0 },
      data: { node },
      initialWidth: NODE_WIDTH,
      initialHeight: NODE_HEIGHT,
      ...(measured[node.id] === undefined ? {} : { measured: measured[node.id] }),
      // React Flow renders each node as role "group"; its name carries the node's state for tests and screen readers.
      ariaLabel: nodeName(node),
    }));
    const flowEdges: Edge[] = input.edges.map((edge) => ({ ...edge, animated: watch.graph.nodes.find((node) => node.id === edge.target)?.state === 'running' }));
    return { nodes: flowNodes, edges: flowEdges };
  }, [watch.graph, measured]);

  const selectedNode = watch.graph.nodes.find((node) => node.id === selected);
  return (
    <section aria-label="Workflows">
      <label>
        Session{' '}
        <select aria-label="Session" value={sessionId ?? ''} onChange={(event) => onSession(event.target.value)}>
          <option value="" disabled>
            choose a session
          </option>
          {sessionId !== undefined && !sessions.some((session) => session.id === sessionId) ? <option value={sessionId}>{sessionId}</option> : null}
          {sessions.map((session) => (
            <option key={session.id} value={session.id}>
              {session.id} ({session.status})
            </option>
          ))}
        </select>
      </label>{' '}
      <span aria-live="polite">
        {watch.connection === 'reconnecting' ? 'reconnecting…' : watch.connection === 'live' ? `live (event ${watch.graph.lastPosition})` : watch.connection === 'snapshot' ? 'snapshot (refreshing)' : ''}
      </span>
      <ErrorMessage error={listError} />
      <ErrorMessage error={watch.error} />
      {watch.graph.truncated ? <p className="notice">The oldest events of this session were trimmed; early history may be missing.</p> : null}
      {watch.graph.goal === undefined ? null : <p>Goal: {watch.graph.goal}</p>}
      {watch.graph.turnError === undefined ? null : <ErrorMessage error={watch.graph.turnError} />}
      <div className="graph" role="region" aria-label="Workflow graph">
        <ReactFlow nodes={nodes} edges={edges} onNodesChange={onNodesChange} nodeTypes={NODE_TYPES} fitView fitViewOptions={FIT_VIEW} nodesDraggable={false} onNodeClick={(_, node) => setSelected(node.id)} proOptions={{ hideAttribution: true }} />
      </div>
      {watch.graph.answer === '' && watch.graph.turnState === undefined ? null : (
        <section className="panel" aria-label="Workflow answer" aria-busy={watch.graph.turnState === 'started'}>
          <h3>Answer{watch.graph.turnState === undefined ? '' : ` (${watch.graph.turnState})`}</h3>
          <p className="answer">{watch.graph.answer === '' ? '—' : watch.graph.answer}</p>
        </section>
      )}
      {selectedNode === undefined ? null : (
        <section className="panel" aria-label={`Node ${selectedNode.id}`}>
          <h3>
            {selectedNode.id}: {selectedNode.agent}
            {skillSuffix(selectedNode)} ({NODE_STATE_LABELS[selectedNode.state]})
          </h3>
          <h4>Input</h4>
          <pre>{selectedNode.description === '' ? '(none)' : selectedNode.description}</pre>
          {selectedNode.output === undefined ? null : (
            <>
              <h4>Output</h4>
              <pre>{selectedNode.output}</pre>
            </>
          )}
          {selectedNode.error === undefined ? null : (
            <>
              <h4>Error</h4>
              <pre>{selectedNode.error}</pre>
            </>
          )}
          <h4>Events</h4>
          <ol>
            {watch.records
              .filter((record) => selectedNode.eventPositions.includes(record.position))
              .map((record) => (
                <li key={record.position}>
                  #{record.position} {record.kind === 'progress' ? `${record.event.type}${record.event.message === undefined ? '' : `: ${record.event.message}`}` : record.kind}
                </li>
              ))}
          </ol>
        </section>
      )}
    </section>
  );
}
