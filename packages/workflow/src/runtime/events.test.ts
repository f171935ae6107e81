import type { DagEvent, WorkflowEvent } from '@ensemble/protocol';
import { InMemorySessionStore } from '@ensemble/sessions';
import { describe, expect, it, vi } from 'vitest';

import { collectingLogger } from '../../../../test/support/logs.js';
import { EventAppender } from '../event-appender.js';
import { InMemoryEventLog } from '../memory-event-log.js';
import { plan, planNode } from '../testing/harness.js';
import { LoggedSink, dagEventToProgress, excerpt, progressMetadata } from './events.js';

const context = {
  plan: plan(planNode('fetch', 'web', 'get {{request}}', { description: 'Fetch the page' }), { ...planNode('sum', 'x', 'y'), agent: null, skill: 'summarize' }),
  agentOf: (node: string) => (node === 'sum' ? 'summarizer' : undefined),
};
const at = '2025-01-01T00:00:00.000Z';

describe('dagEventToProgress', () => {
  it('describes a node start with its description, attempt and input', () => {
    const event: DagEvent = { type: 'node_started', sequence: 3, at, node: 'fetch', agent: 'web', attempt: 1, input: 'get weather' };
    expect(dagEventToProgress(event, context)).toEqual({ type: 'node_started', node: 'fetch', agent: 'web', message: 'Fetch the page', metadata: { attempt: 1, input: 'get weather' } });
  });

  it('names the agent the registry picked for a skill-only node', () => {
    const event: DagEvent = { type: 'node_completed', sequence: 4, at, node: 'sum', agent: null, output: 'short' };
    expect(dagEventToProgress(event, context)).toMatchObject({ type: 'node_completed', agent: 'summarizer', message: 'short', metadata: { output_chars: 5 } });
  });

  it('shows a fallback as a retry with the agents involved', () => {
    const event: DagEvent = { type: 'node_fallback', sequence: 5, at, node: 'fetch', from: 'web', to: 'backup', error: { code: 'upstream_error', message: 'boom' } };
    expect(dagEventToProgress(event, context)).toMatchObject({ type: 'node_retrying', agent: 'backup', metadata: { fallback: true, from: 'web', to: 'backup' } });
  });

  it('maps revisions, approvals and skips, and hides workflow-level endings', () => {
    const replanned: DagEvent = { type: 'replanned', sequence: 6, at, after: 'fetch', revision: { reason: 'more', skipNodes: ['sum'], addNodes: [planNode('new', 'web', 'z')], updateNodes: [] } };
    expect(dagEventToProgress(replanned, context)).toEqual({ type: 'replanned', message: 'more', metadata: { after: 'fetch', added: ['new'], updated: [], skipped: ['sum'] } });
    const waiting: DagEvent = { type: 'node_waiting_approval', sequence: 7, at, node: 'fetch', agent: 'web', context: { question: 'Delete it?' } };
    expect(dagEventToProgress(waiting, context)).toMatchObject({ type: 'approval_required', message: 'Delete it?' });
    expect(dagEventToProgress({ type: 'node_skipped', sequence: 8, at, node: 'sum', reason: 'condition not met' }, context)).toMatchObject({ type: 'node_skipped', message: 'condition not met' });
    expect(dagEventToProgress({ type: 'workflow_completed', sequence: 9, at, failedNodes: [] }, context)).toBeUndefined();
    expect(dagEventToProgress({ type: 'workflow_started', sequence: 1, at, nodes: 2, resumed: false }, context)).toBeUndefined();
  });
});

describe('progress metadata', () => {
  it('carries the event under the keys the gateway reads', () => {
    const event = { type: 'node_started' as const, agent: 'web', node: 'fetch', sequence: 2 };
    expect(progressMetadata(event)).toEqual({ 'ensemble.reasoningEvent': event, 'ensemble.agent': 'web', 'ensemble.node': 'fetch' });
  });

  it('cuts long text for excerpts', () => {
    expect(excerpt('a  b\n c')).toBe('a b c');
    expect(excerpt('x'.repeat(500))).toHaveLength(280);
  });
});

describe('LoggedSink', () => {
  const request = { messages: [{ role: 'user' as const, content: 'hi' }], model: null };

  it('numbers events by their log position and publishes them in log order, answer pieces included', async () => {
    const log = new InMemoryEventLog<WorkflowEvent>();
    const published: string[] = [];
    const sink = new LoggedSink(new EventAppender(log, 's1'), collectingLogger('sink-test').logger, {
      progress: (event, position) => published.push(`${position}:${event.type}:${event.sequence}`),
      answer: (text, position) => published.push(`${position}:answer:${text}`),
      usage: () => published.push('usage'),
    });
    sink.progress({ type: 'planning', message: 'Planning' });
    sink.answer('Hello');
    sink.usage({ prompt_tokens: 3, completion_tokens: 4 });
    sink.answer(' world');
    await sink.end({ kind: 'turn', at, state: 'completed' });
    // Usage goes to the task at once (the kit sums it for the final status); the rest after the log.
    expect(published).toEqual(['usage', '1:planning:1', '2:answer:Hello', '4:answer: world']);
    expect((await log.read('s1')).events.map((logged) => logged.event.kind)).toEqual(['progress', 'answer', 'usage', 'answer', 'turn']);
  });

  it('joins answer pieces that arrive while an append is in flight into one record, never across another event', async () => {
    const log = new InMemoryEventLog<WorkflowEvent>();
    // The log answers only when the test says so: pieces arrive while an append is in flight.
    const gates: (() => void)[] = [];
    const gated = Object.assign(Object.create(log) as InMemoryEventLog<WorkflowEvent>, {
      append: async (sessionId: string, events: readonly WorkflowEvent[]) => {
        await new Promise<void>((open) => gates.push(open));
        return log.append(sessionId, events);
      },
    });
    const published: string[] = [];
    const sink = new LoggedSink(new EventAppender(gated, 's1'), collectingLogger('sink-test').logger, {
      progress: (event, position) => published.push(`${position}:${event.type}`),
      answer: (text, position) => published.push(`${position}:${text}`),
      usage: () => undefined,
    });
    sink.answer('The');
    sink.answer(' quick');
    sink.answer(' brown');
    sink.progress({ type: 'status', message: 'between' });
    sink.answer(' fox');
    const ended = sink.end({ kind: 'turn', at, state: 'completed' });
    // One append per round trip: 'The' alone, then what queued behind it.
    for (let round = 0; round < 2; round += 1) {
      await vi.waitFor(() => expect(gates.length).toBeGreaterThan(round));
      gates[round]!();
    }
    await ended;
    expect(published).toEqual(['1:The', '2: quick brown', '3:status', '4: fox']);
    const answers = (await log.read('s1')).events.flatMap((logged) => (logged.event.kind === 'answer' ? [logged.event.text] : []));
    expect(answers).toEqual(['The', ' quick brown', ' fox']);
  });

  it('sends each piece at once when the log keeps up', async () => {
    const log = new InMemoryEventLog<WorkflowEvent>();
    const published: string[] = [];
    const appender = new EventAppender(log, 's1');
    const sink = new LoggedSink(appender, collectingLogger('sink-test').logger, {
      progress: () => undefined,
      answer: (text) => published.push(text),
      usage: () => undefined,
    });
    for (const piece of ['a', 'b', 'c']) {
      sink.answer(piece);
      await appender.drain();
    }
    await sink.end(undefined);
    expect(published).toEqual(['a', 'b', 'c']);
  });

  it('fences out a paused owner: after a takeover its late events are refused and only the new owner’s are kept', async () => {
    let now = 0;
    const store = new InMemorySessionStore({ now: () => now });
    const log = new InMemoryEventLog<WorkflowEvent>();
    const { logger, lines } = collectingLogger('sink-test');
    const session = await store.create({ owner: 'alice', request });
    const stale = await store.acquireLease(session.id, 'alice', { ttlMs: 1_000 });
    const staleSink = new LoggedSink(new EventAppender(log, session.id, { fence: stale.fencingToken }), logger);
    staleSink.progress({ type: 'status', message: 'before the pause' });
    await staleSink.end(undefined);

    // The owner stalls past its lease; another orchestrator takes the session over and writes.
    now += 5_000;
    const fresh = await store.acquireLease(session.id, 'alice', { ttlMs: 1_000 });
    expect(fresh.fencingToken).toBeGreaterThan(stale.fencingToken);
    const freshSink = new LoggedSink(new EventAppender(log, session.id, { fence: fresh.fencingToken }), logger);
    freshSink.progress({ type: 'status', message: 'resumed' });
    await freshSink.end(undefined);

    staleSink.progress({ type: 'status', message: 'late write from the stale owner' });
    await staleSink.end({ kind: 'turn', at, state: 'completed' });
    const kept = (await log.read(session.id)).events.map((logged) => (logged.event.kind === 'progress' ? logged.event.event.message : logged.event.kind));
    expect(kept).toEqual(['before the pause', 'resumed']);
    expect(lines.some((line) => String(line['msg']).startsWith('could not append'))).toBe(true);
  });
});

describe('LoggedSink after a takeover mid-answer', () => {
  function sinkWith(alreadyAnswered: string) {
    const published: string[] = [];
    const sink = new LoggedSink(new EventAppender(new InMemoryEventLog<WorkflowEvent>(), 's1'), collectingLogger('sink-test').logger, {
      progress: (event) => published.push(`${event.type}`),
      answer: (text) => published.push(text),
      usage: () => undefined,
    }, { alreadyAnswered });
    return { sink, published };
  }

  it('does not send again the answer the log already holds, whatever the pieces', async () => {
    const { sink, published } = sinkWith('Hello wor');
    for (const piece of ['Hel', 'lo world', '!']) sink.answer(piece);
    await sink.end(undefined);
    expect(published).toEqual(['ld', '!']);
  });

  it('says so and goes on from where a new draft parts from the old one', async () => {
    const { sink, published } = sinkWith('Hello');
    sink.answer('Help is near');
    await sink.end(undefined);
    expect(published).toEqual(['status', 'p is near']);
  });
});
