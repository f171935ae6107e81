import { describe, expect, it } from 'vitest';

import { layeredLayout } from './layout.js';
import { EMPTY_GRAPH, type ProgressEvent, type WorkflowRecord, foldWorkflowEvent, foldWorkflowEvents, graphFromSessionView, layoutInput } from './workflow-graph.js';

const plan = {
  goal: 'Compare two reports',
  rationale: 'fan out then merge',
  nodes: [
    { id: 'research', agent: 'rag-agent', skill: 'search', depends_on: [], description: 'find sources' },
    { id: 'reason', agent: 'reasoning-agent', skill: 'analyse', depends_on: ['research'], description: 'analyse' },
    { id: 'restart', agent: 'ops-agent', skill: 'restart', depends_on: ['research'], description: 'restart service' },
    { id: 'merge', agent: 'reasoning-agent', skill: 'summarise', depends_on: ['reason', 'restart'], description: 'merge' },
  ],
};

function progress(position: number, at: string, event: Record<string, unknown>): WorkflowRecord {
  return { position, at, kind: 'progress', event: { sequence: position, ...event } as unknown as ProgressEvent };
}

const log: WorkflowRecord[] = [
  { position: 1, at: '2026-12-05T10:00:00.000Z', kind: 'turn', state: 'started', turn: 1 },
  progress(2, '2026-12-05T10:00:00.100Z', { type: 'plan_ready', metadata: { plan } }),
  progress(3, '2026-12-05T10:00:01.000Z', { type: 'node_started', node: 'research', agent: 'rag-agent' }),
  progress(4, '2026-12-05T10:00:01.500Z', { type: 'node_retrying', node: 'research', agent: 'rag-agent', message: 'timeout' }),
  progress(5, '2026-12-05T10:00:03.000Z', { type: 'node_completed', node: 'research', agent: 'rag-agent', metadata: { output: 'three sources' } }),
  progress(6, '2026-12-05T10:00:03.100Z', { type: 'node_started', node: 'reason', agent: 'reasoning-agent' }),
  progress(7, '2026-12-05T10:00:03.100Z', { type: 'node_started', node: 'restart', agent: 'ops-agent' }),
  progress(8, '2026-12-05T10:00:03.200Z', { type: 'approval_required', node: 'restart', agent: 'ops-agent', metadata: { approval_id: 'apr_1', action: 'restart payments', reason: 'production change' } }),
  progress(9, '2026-12-05T10:00:04.000Z', { type: 'node_failed', node: 'reason', agent: 'reasoning-agent', message: 'model refused' }),
];

describe('foldWorkflowEvents', () => {
  it('lays out the plan as pending nodes with their agent, skill and dependencies', () => {
    const graph = foldWorkflowEvents(log.slice(0, 2));
    expect(graph.goal).toBe('Compare two reports');
    expect(graph.nodes.map((node) => [node.id, node.agent, node.skill, node.state, node.dependsOn])).toEqual([
      ['research', 'rag-agent', 'search', 'pending', []],
      ['reason', 'reasoning-agent', 'analyse', 'pending', ['research']],
      ['restart', 'ops-agent', 'restart', 'pending', ['research']],
      ['merge', 'reasoning-agent', 'summarise', 'pending', ['reason', 'restart']],
    ]);
    expect(graph.lastPosition).toBe(2);
  });

  it('folds node events into states, retries, durations, outputs, errors and pending approvals', () => {
    const graph = foldWorkflowEvents(log);
    const byId = Object.fromEntries(graph.nodes.map((node) => [node.id, node]));
    expect(byId['research']).toMatchObject({ state: 'done', retries: 1, durationMs: 2000, output: 'three sources', eventPositions: [3, 4, 5] });
    expect(byId['reason']).toMatchObject({ state: 'failed', error: 'model refused', durationMs: 900 });
    expect(byId['restart']).toMatchObject({ state: 'waiting_approval', approval: { approvalId: 'apr_1', action: 'restart payments', reason: 'production change' } });
    expect(byId['merge']?.state).toBe('pending');
    expect(graph.lastPosition).toBe(9);
  });

  it('resumes an approved node and fails a rejected one', () => {
    const approved = foldWorkflowEvent(foldWorkflowEvents(log), progress(10, '2026-12-05T10:00:05.000Z', { type: 'approval_decided', node: 'restart', metadata: { approval_id: 'apr_1', decision: 'approved' } }));
    expect(approved.nodes.find((node) => node.id === 'restart')).toMatchObject({ state: 'running', approval: undefined });
    const rejected = foldWorkflowEvent(foldWorkflowEvents(log), progress(10, '2026-12-05T10:00:05.000Z', { type: 'approval_decided', node: 'restart', metadata: { approval_id: 'apr_1', decision: 'rejected' } }));
    expect(rejected.nodes.find((node) => node.id === 'restart')).toMatchObject({ state: 'failed', error: 'approval rejected' });
  });

  it('gives the same graph whether the log is replayed at once or streamed with repeated frames', () => {
    const replayed = foldWorkflowEvents(log);
    // A reconnect resumes from the last id, but a JSON page and the live stream may overlap.
    const streamed = foldWorkflowEvents([...log.slice(0, 5), ...log.slice(3, 7), ...log.slice(5)]);
    expect(streamed).toEqual(replayed);
  });

  it('collects the answer of the current turn and its final state', () => {
    const graph = foldWorkflowEvents([
      ...log,
      { position: 10, at: '2026-12-05T10:00:06.000Z', kind: 'answer', text: 'Hello ' },
      { position: 11, at: '2026-12-05T10:00:06.100Z', kind: 'answer', text: 'world' },
      { position: 12, at: '2026-12-05T10:00:06.200Z', kind: 'turn', state: 'failed', turn: 1, error: { type: 'node_failed', message: 'reason failed' } },
    ]);
    expect(graph).toMatchObject({ answer: 'Hello world', turnState: 'failed', turnError: 'reason failed', lastPosition: 12 });
  });

  it('keeps started nodes a replan drops and marks a truncated log', () => {
    const replanned = foldWorkflowEvents([
      ...log.slice(0, 5),
      progress(6, '2026-12-05T10:00:04.000Z', { type: 'replanned', metadata: { plan: { goal: 'shorter', nodes: [{ id: 'summary', agent: 'reasoning-agent', skill: 'summarise', depends_on: ['research'] }] } } }),
      { position: 0, at: '', kind: 'truncated' },
    ]);
    expect(replanned.nodes.map((node) => [node.id, node.state])).toEqual([
      ['research', 'done'],
      ['summary', 'pending'],
    ]);
    expect(replanned.truncated).toBe(true);
  });

  it('creates a node the plan did not list when an event names it', () => {
    const graph = foldWorkflowEvent(EMPTY_GRAPH, progress(1, '2026-12-05T10:00:00.000Z', { type: 'node_started', node: 'solo', agent: 'rag-agent' }));
    expect(graph.nodes).toEqual([expect.objectContaining({ id: 'solo', agent: 'rag-agent', state: 'running' })]);
  });
});

describe('layoutInput', () => {
  it('gives one box per node and one edge per known dependency', () => {
    const input = layoutInput(foldWorkflowEvents(log));
    expect(input.nodes.map((node) => node.id)).toEqual(['research', 'reason', 'restart', 'merge']);
    expect(input.edges).toEqual([
      { id: 'research->reason', source: 'research', target: 'reason' },
      { id: 'research->restart', source: 'research', target: 'restart' },
      { id: 'reason->merge', source: 'reason', target: 'merge' },
      { id: 'restart->merge', source: 'restart', target: 'merge' },
    ]);
  });
});

describe('layeredLayout', () => {
  it('puts every dependency in an earlier layer than its dependents', () => {
    const positions = new Map(layeredLayout(layoutInput(foldWorkflowEvents(log))).map((position) => [position.id, position]));
    expect(positions.get('research')!.x).toBeLessThan(positions.get('reason')!.x);
    expect(positions.get('reason')!.x).toBe(positions.get('restart')!.x);
    expect(positions.get('restart')!.y).not.toBe(positions.get('reason')!.y);
    expect(positions.get('merge')!.x).toBeGreaterThan(positions.get('restart')!.x);
  });
});

describe('graphFromSessionView', () => {
  it('maps a session snapshot onto the same node states', () => {
    const graph = graphFromSessionView({
      id: 'ses_1',
      status: 'running',
      plan,
      nodes: {
        research: { status: 'completed', attempts: 2, started_at: '2026-12-05T10:00:01.000Z', finished_at: '2026-12-05T10:00:03.000Z', output: 'three sources' },
        reason: { status: 'failed', error: { message: 'model refused' } },
        restart: { status: 'waiting_approval' },
      },
    });
    expect(graph.nodes.map((node) => [node.id, node.state])).toEqual([
      ['research', 'done'],
      ['reason', 'failed'],
      ['restart', 'waiting_approval'],
      ['merge', 'pending'],
    ]);
    expect(graph.nodes[0]).toMatchObject({ retries: 1, durationMs: 2000, output: 'three sources' });
    expect(graph.nodes[1]?.error).toContain('model refused');
  });
});
