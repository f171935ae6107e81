import { type DagEvent, EnsembleError, ErrorCode, type ExecutionPlan, type NodeResult, type PlanNode } from '@ensemble/protocol';
import { describe, expect, it, vi } from 'vitest';

import { type DagRunOptions, type NodeRunOutcome, type NodeRunRequest, runDag } from './engine.js';
import { ManualClock } from './testing/manual-clock.js';

function node(id: string, overrides: Partial<PlanNode> = {}): PlanNode {
  return {
    id,
    agent: 'worker',
    skill: null,
    input: `do ${id}`,
    dependsOn: [],
    condition: null,
    retry: { maxAttempts: 1, backoffMs: 0 },
    timeoutMs: 10_000,
    fallbackAgent: null,
    description: `step ${id}`,
    ...overrides,
  };
}

function plan(...nodes: PlanNode[]): ExecutionPlan {
  return { goal: 'test', rationale: 'test', nodes };
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Records everything a run does: events, persisted results (in order) and runner calls. */
function harness(runNode: (request: NodeRunRequest) => Promise<NodeRunOutcome> | NodeRunOutcome, extra: Partial<DagRunOptions> = {}) {
  const events: DagEvent[] = [];
  const persisted: { node: string; result: NodeResult }[] = [];
  const calls: NodeRunRequest[] = [];
  const clock = new ManualClock({ autoAdvance: true });
  const options = (p: ExecutionPlan, more: Partial<DagRunOptions> = {}): DagRunOptions => ({
    plan: p,
    request: 'What is the weather in Paris?',
    runNode: async (request) => {
      calls.push(request);
      return runNode(request);
    },
    clock,
    onEvent: (event) => events.push(event),
    persist: async (nodeId, result) => {
      persisted.push({ node: nodeId, result });
    },
    ...extra,
    ...more,
  });
  const saved = (): Record<string, NodeResult> => Object.fromEntries(persisted.map((entry) => [entry.node, entry.result]));
  const types = (id?: string): string[] => events.filter((event) => id === undefined || ('node' in event && event.node === id)).map((event) => event.type);
  return { events, persisted, calls, clock, options, saved, types };
}

const echo = async (request: NodeRunRequest): Promise<NodeRunOutcome> => ({ kind: 'completed', output: `${request.node.id}(${request.input})` });

describe('runDag: data flow and ordering', () => {
  it('renders {{request}} and upstream outputs, and runs dependents after their dependencies', async () => {
    const h = harness(echo);
    const result = await runDag(h.options(plan(node('search', { input: 'find {{request}}' }), node('summarize', { dependsOn: ['search'], input: 'sum: {{ nodes.search.output }}' }))));

    expect(result.status).toBe('completed');
    expect(result.results['search']?.output).toBe('search(find What is the weather in Paris?)');
    expect(result.results['summarize']?.output).toBe('summarize(sum: search(find What is the weather in Paris?))');
    expect(h.calls.map((call) => call.node.id)).toEqual(['search', 'summarize']);
  });

  it('emits events with strictly increasing sequence numbers, and persists each state before announcing it', async () => {
    const order: string[] = [];
    const h = harness(echo);
    await runDag(
      h.options(plan(node('a'), node('b', { dependsOn: ['a'] })), {
        persist: async (id, result) => void order.push(`persist ${id} ${result.status}`),
        onEvent: (event) => {
          h.events.push(event);
          order.push(`event ${event.type}${'node' in event ? ` ${event.node}` : ''}`);
        },
      }),
    );

    const sequences = h.events.map((event) => event.sequence);
    expect(sequences).toEqual(sequences.map((_, index) => index + 1));
    expect(order).toEqual([
      'event workflow_started',
      'persist a running',
      'event node_started a',
      'persist a completed',
      'event node_completed a',
      'persist b running',
      'event node_started b',
      'persist b completed',
      'event node_completed b',
      'event workflow_completed',
    ]);
  });

  it('runs two independent nodes verifiably at the same time', async () => {
    const started = { a: deferred(), b: deferred() };
    const h = harness(async (request) => {
      const id = request.node.id as 'a' | 'b';
      started[id].resolve();
      // Each node finishes only once the other one has started: a sequential engine would time out here.
      await started[id === 'a' ? 'b' : 'a'].promise;
      return { kind: 'completed', output: id };
    });
    const result = await runDag(h.options(plan(node('a'), node('b'))));

    expect(result.status).toBe('completed');
    expect(h.types().slice(0, 3)).toEqual(['workflow_started', 'node_started', 'node_started']);
  });

  it('never runs more than maxConcurrency nodes at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const h = harness(async (request) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await h.clock.sleep(100);
      inFlight -= 1;
      return { kind: 'completed', output: request.node.id };
    });
    const result = await runDag(h.options(plan(node('a'), node('b'), node('c'), node('d'), node('e')), { maxConcurrency: 2 }));

    expect(result.status).toBe('completed');
    expect(peak).toBe(2);
  });

  it('runs a diamond: both branches in parallel, the join after both, with both outputs', async () => {
    const running = new Set<string>();
    const overlaps: string[][] = [];
    const h = harness(async (request) => {
      running.add(request.node.id);
      overlaps.push([...running].sort());
      await h.clock.sleep(10);
      running.delete(request.node.id);
      return { kind: 'completed', output: request.node.id.toUpperCase() };
    });
    const result = await runDag(
      h.options(plan(node('root'), node('left', { dependsOn: ['root'] }), node('right', { dependsOn: ['root'] }), node('join', { dependsOn: ['left', 'right'], input: '{{nodes.left.output}}+{{nodes.right.output}}' }))),
    );

    expect(result.status).toBe('completed');
    expect(overlaps).toContainEqual(['left', 'right']);
    expect(overlaps.at(-1)).toEqual(['join']);
    expect(h.calls.find((call) => call.node.id === 'join')?.input).toBe('LEFT+RIGHT');
  });
});

describe('runDag: conditions and skipping', () => {
  it('skips a node whose condition is false, then its dependents whose dependencies are all skipped; a join with one live branch still runs', async () => {
    const h = harness(async (request) => ({ kind: 'completed', output: request.node.id === 'check' ? 'Sunny all day' : request.input }));
    const result = await runDag(
      h.options(
        plan(
          node('check'),
          node('umbrella', { dependsOn: ['check'], condition: { node: 'check', operator: 'contains', value: 'rain' } }),
          node('shop', { dependsOn: ['umbrella'] }),
          node('picnic', { dependsOn: ['check'], condition: { node: 'check', operator: 'not_contains', value: 'RAIN' } }),
          node('report', { dependsOn: ['umbrella', 'picnic'], input: '[{{nodes.umbrella.output}}][{{nodes.picnic.output}}]' }),
        ),
      ),
    );

    expect(result.status).toBe('completed');
    expect(result.results['umbrella']).toMatchObject({ status: 'skipped', skipReason: 'condition not met: check contains "rain"', attempts: 0 });
    expect(result.results['shop']).toMatchObject({ status: 'skipped', skipReason: 'all dependencies were skipped' });
    expect(result.results['picnic']?.status).toBe('completed');
    expect(result.results['report']?.output).toBe('[][do picnic]');
    expect(h.calls.map((call) => call.node.id).sort()).toEqual(['check', 'picnic', 'report']);
    expect(h.types('umbrella')).toEqual(['node_skipped']);
  });

  it('evaluates equals (trimmed, case-insensitive) and matches conditions', async () => {
    const h = harness(async (request) => ({ kind: 'completed', output: request.node.id === 'classify' ? ' Urgent \n' : 'ok' }));
    const result = await runDag(
      h.options(
        plan(
          node('classify'),
          node('page', { dependsOn: ['classify'], condition: { node: 'classify', operator: 'equals', value: 'urgent' } }),
          node('queue', { dependsOn: ['classify'], condition: { node: 'classify', operator: 'not_equals', value: 'urgent' } }),
          node('regex', { dependsOn: ['classify'], condition: { node: 'classify', operator: 'matches', value: '^\\s*urg' } }),
        ),
      ),
    );
    expect([result.results['page']?.status, result.results['queue']?.status, result.results['regex']?.status]).toEqual(['completed', 'skipped', 'completed']);
  });
});

describe('runDag: failures, retries, fallback, timeouts', () => {
  it('retries with exponential backoff on the injected clock, then falls back to the fallback agent', async () => {
    const h = harness(async (request) => {
      if (request.agent === 'flaky') throw new EnsembleError(ErrorCode.UpstreamUnavailable, 'flaky is down');
      return { kind: 'completed', output: `by ${request.agent}` };
    });
    const start = h.clock.now();
    const result = await runDag(h.options(plan(node('a', { agent: 'flaky', fallbackAgent: 'steady', retry: { maxAttempts: 3, backoffMs: 100 } }))));

    expect(result.status).toBe('completed');
    expect(result.results['a']).toMatchObject({ status: 'completed', output: 'by steady', agent: 'steady', attempts: 4 });
    expect(h.calls.map((call) => [call.agent, call.attempt, call.fallback])).toEqual([
      ['flaky', 1, false],
      ['flaky', 2, false],
      ['flaky', 3, false],
      ['steady', 4, true],
    ]);
    const retries = h.events.filter((event) => event.type === 'node_retrying');
    expect(retries.map((event) => event.delayMs)).toEqual([100, 200]);
    expect(h.clock.now() - start).toBe(300);
    expect(h.types('a')).toEqual(['node_started', 'node_retrying', 'node_started', 'node_retrying', 'node_started', 'node_fallback', 'node_started', 'node_completed']);
  });

  it('a retry’s running record names no task until the agent names the new one; the failed record names the last', async () => {
    const h = harness(async (request) => {
      request.onAgentTask?.(request.agent, `task-${request.attempt}`);
      throw new EnsembleError(ErrorCode.UpstreamUnavailable, 'cut mid-task');
    });
    // Resumed from a crash mid-task: the first attempt continues task-0, the retries send anew.
    const previous: NodeResult = { status: 'running', output: null, error: null, attempts: 1, agent: 'worker', startedAt: null, finishedAt: null, taskId: 'task-0', approvalContext: null, skipReason: null };
    await runDag(h.options(plan(node('a', { retry: { maxAttempts: 2, backoffMs: 10 } })), { state: { a: previous } }));
    expect(h.calls.map((call) => call.previous?.taskId)).toEqual(['task-0', 'task-0']);
    expect(h.persisted.filter((entry) => entry.node === 'a').map((entry) => [entry.result.status, entry.result.taskId])).toEqual([
      ['running', 'task-0'],
      ['running', 'task-1'],
      // A crash here resumes with no task to reconnect to: attempt 2's task is not known yet.
      ['running', null],
      ['running', 'task-2'],
      ['failed', 'task-2'],
    ]);
  });

  it('does not retry non-retryable errors but still tries the fallback', async () => {
    const h = harness(async (request) => {
      if (request.agent === 'strict') throw new EnsembleError(ErrorCode.InvalidRequest, 'bad input');
      return { kind: 'completed', output: 'fine' };
    });
    const result = await runDag(h.options(plan(node('a', { agent: 'strict', fallbackAgent: 'lenient', retry: { maxAttempts: 5, backoffMs: 10 } }))));
    expect(h.calls.map((call) => call.agent)).toEqual(['strict', 'lenient']);
    expect(result.results['a']?.attempts).toBe(2);
  });

  it('fails a node after its attempts, blocks its dependents, lets independent branches finish, and fails the run', async () => {
    const h = harness(async (request) => {
      if (request.node.id === 'broken') throw new Error('boom');
      return { kind: 'completed', output: request.node.id };
    });
    const result = await runDag(h.options(plan(node('broken', { retry: { maxAttempts: 2, backoffMs: 5 } }), node('after', { dependsOn: ['broken'] }), node('then', { dependsOn: ['after'] }), node('independent'))));

    expect(result.status).toBe('failed');
    expect(result.results['broken']).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'internal', message: 'boom' } });
    expect(result.results['after']).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'dependency_failed', message: 'Dependency "broken" failed: boom' } });
    expect(result.results['then']?.error?.code).toBe('dependency_failed');
    expect(result.results['independent']?.status).toBe('completed');
    expect(h.events.at(-1)).toMatchObject({ type: 'workflow_failed', failedNodes: ['broken', 'after', 'then'] });
  });

  it('completes when only a leaf failed (listed in failedNodes), but fails when nothing completed', async () => {
    const failing = async (request: NodeRunRequest): Promise<NodeRunOutcome> => {
      if (request.node.id === 'leaf') throw new Error('nope');
      return { kind: 'completed', output: 'ok' };
    };
    const partial = harness(failing);
    expect((await runDag(partial.options(plan(node('main'), node('leaf'))))).status).toBe('completed');
    expect(partial.events.at(-1)).toMatchObject({ type: 'workflow_completed', failedNodes: ['leaf'] });

    const alone = harness(failing);
    expect((await runDag(alone.options(plan(node('leaf'))))).status).toBe('failed');
  });

  it('runs an error-handling branch (condition "failed") and skips the success branch', async () => {
    const h = harness(async (request) => {
      if (request.node.id === 'risky') throw new Error('nope');
      return { kind: 'completed', output: request.node.id };
    });
    const result = await runDag(
      h.options(
        plan(
          node('risky'),
          node('recover', { dependsOn: ['risky'], condition: { node: 'risky', operator: 'failed', value: null } }),
          node('celebrate', { dependsOn: ['risky'], condition: { node: 'risky', operator: 'succeeded', value: null } }),
        ),
      ),
    );
    expect(result.status).toBe('completed');
    expect(result.results['recover']?.status).toBe('completed');
    expect(result.results['celebrate']?.status).toBe('skipped');
  });

  it('times out an attempt on the injected clock, aborting the runner, and retries', async () => {
    const reasons: unknown[] = [];
    const h = harness(async (request) => {
      if (request.attempt === 2) return { kind: 'completed', output: 'second time lucky' };
      // Never answers on its own; only the engine's timeout ends it.
      await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve(), { once: true }));
      reasons.push(request.signal.reason);
      return new Promise<NodeRunOutcome>(() => undefined);
    });
    const start = h.clock.now();
    const result = await runDag(h.options(plan(node('slow', { timeoutMs: 5_000, retry: { maxAttempts: 2, backoffMs: 0 } }))));

    expect(result.results['slow']).toMatchObject({ status: 'completed', attempts: 2 });
    expect(h.clock.now() - start).toBe(5_000);
    expect(EnsembleError.is(reasons[0], ErrorCode.UpstreamTimeout)).toBe(true);
    expect(h.events.find((event) => event.type === 'node_retrying')).toMatchObject({ error: { code: 'upstream_timeout', message: 'Node "slow" timed out after 5000 ms' } });
  });

  it('rejects an invalid plan before running anything', async () => {
    const h = harness(echo);
    const error = await runDag(h.options(plan(node('a', { dependsOn: ['ghost'] })))).catch((caught: unknown) => caught);
    expect(EnsembleError.is(error, ErrorCode.InvalidRequest)).toBe(true);
    expect(h.calls).toHaveLength(0);
  });

  it('stops and rejects when persisting fails, aborting running nodes', async () => {
    const aborted = deferred<unknown>();
    const storeDown = new EnsembleError(ErrorCode.Unavailable, 'store down');
    const h = harness(async (request) => {
      if (request.node.id === 'quick') return { kind: 'completed', output: 'done' };
      request.signal.addEventListener('abort', () => aborted.resolve(request.signal.reason), { once: true });
      return new Promise<NodeRunOutcome>(() => undefined);
    });
    const run = runDag(
      h.options(plan(node('quick'), node('long')), {
        persist: async (id, result) => {
          if (id === 'quick' && result.status === 'completed') throw storeDown;
        },
      }),
    );
    await expect(run).rejects.toBe(storeDown);
    expect(await aborted.promise).toBe(storeDown);
  });
});

describe('runDag: pause and resume', () => {
  const approvalPlan = plan(node('deploy', { agent: 'ops', input: 'deploy {{request}}' }), node('notify', { dependsOn: ['deploy'], input: 'tell: {{nodes.deploy.output}}' }), node('docs'));

  it('pauses on approval_required while independent branches finish, then resumes without re-running finished nodes', async () => {
    const first = harness(async (request) => {
      if (request.node.id === 'deploy') return { kind: 'approval_required', context: { action: 'deploy to prod', risk: 'high' }, taskId: 'task-1' };
      return { kind: 'completed', output: `${request.node.id} done` };
    });
    const paused = await runDag(first.options(approvalPlan));

    expect(paused.status).toBe('paused');
    expect(paused.results['deploy']).toMatchObject({ status: 'waiting_approval', taskId: 'task-1', approvalContext: { action: 'deploy to prod', risk: 'high' }, agent: 'ops' });
    expect(paused.results['docs']?.status).toBe('completed');
    expect(paused.results['notify']?.status).toBe('pending');
    expect(first.events.at(-1)).toMatchObject({ type: 'workflow_paused', waitingNodes: ['deploy'] });

    // Resume from what was persisted only, as an orchestrator restarted from Redis would.
    const second = harness(async (request) => ({ kind: 'completed', output: `${request.node.id} ok` }));
    const resumed = await runDag(
      second.options(approvalPlan, {
        state: first.saved(),
        approvals: { deploy: { approved: true, comment: 'go', decidedBy: 'alice' } },
        lastSequence: paused.lastSequence,
      }),
    );

    expect(resumed.status).toBe('completed');
    expect(second.calls.map((call) => call.node.id)).toEqual(['deploy', 'notify']);
    const deployCall = second.calls[0]!;
    expect(deployCall.approval).toEqual({ approved: true, comment: 'go', decidedBy: 'alice' });
    expect(deployCall.previous?.taskId).toBe('task-1');
    expect(resumed.results['deploy']).toMatchObject({ status: 'completed', attempts: 2, taskId: 'task-1' });
    expect(second.calls[1]?.input).toBe('tell: deploy ok');
    expect(second.events[0]).toMatchObject({ type: 'workflow_started', resumed: true, sequence: paused.lastSequence + 1 });
  });

  it('stays paused when resumed without a decision, and fails the node without fallback when approval is rejected', async () => {
    const waiting = { deploy: { status: 'waiting_approval', output: null, error: null, attempts: 1, agent: 'ops', startedAt: null, finishedAt: null, taskId: 't', approvalContext: { action: 'x' }, skipReason: null } } satisfies Record<string, NodeResult>;
    const idle = harness(echo);
    const still = await runDag(idle.options(plan(node('deploy', { agent: 'ops' }), node('after', { dependsOn: ['deploy'] })), { state: waiting }));
    expect(still.status).toBe('paused');
    expect(idle.calls).toHaveLength(0);

    const rejected = harness(async () => {
      throw new EnsembleError(ErrorCode.Forbidden, 'the agent cancelled its task');
    });
    const result = await runDag(
      rejected.options(plan(node('deploy', { agent: 'ops', fallbackAgent: 'other-ops', retry: { maxAttempts: 3, backoffMs: 1 } })), {
        state: waiting,
        approvals: { deploy: { approved: false, comment: 'too risky', decidedBy: 'bob' } },
      }),
    );
    expect(rejected.calls.map((call) => call.agent)).toEqual(['ops']);
    expect(result.results['deploy']).toMatchObject({ status: 'failed', error: { code: 'approval_rejected', message: 'Approval rejected: too risky' } });
    expect(result.status).toBe('failed');
  });

  it('re-runs a node that was running when the previous run died, passing its old record', async () => {
    const crashed = { a: { status: 'running', output: null, error: null, attempts: 1, agent: 'worker', startedAt: null, finishedAt: null, taskId: 'old-task', approvalContext: null, skipReason: null } } satisfies Record<string, NodeResult>;
    const h = harness(echo);
    const result = await runDag(h.options(plan(node('a')), { state: crashed }));
    expect(result.results['a']?.status).toBe('completed');
    expect(h.calls[0]?.previous?.taskId).toBe('old-task');
  });
});

describe('runDag: cancellation', () => {
  it('aborts running nodes, marks them cancelled, starts nothing else, and ends cancelled', async () => {
    const controller = new AbortController();
    const started = { a: deferred(), b: deferred() };
    const reasons: unknown[] = [];
    const h = harness(async (request) => {
      started[request.node.id as 'a' | 'b'].resolve();
      await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve(), { once: true }));
      reasons.push(request.signal.reason);
      throw new Error('aborted');
    });
    const clock = new ManualClock();
    const run = runDag(h.options(plan(node('a'), node('b'), node('c', { dependsOn: ['a'] })), { signal: controller.signal, clock }));
    await Promise.all([started.a.promise, started.b.promise]);
    controller.abort();
    const result = await run;

    expect(result.status).toBe('cancelled');
    expect(result.results['a']?.status).toBe('cancelled');
    expect(result.results['b']?.status).toBe('cancelled');
    expect(result.results['c']?.status).toBe('pending');
    expect(h.calls.map((call) => call.node.id)).toEqual(['a', 'b']);
    expect(reasons.every((reason) => EnsembleError.is(reason, ErrorCode.Cancelled))).toBe(true);
    expect(h.saved()['a']?.status).toBe('cancelled');
    expect(h.events.at(-1)?.type).toBe('workflow_cancelled');
  });

  it('cancels a node during its retry backoff', async () => {
    const controller = new AbortController();
    const clock = new ManualClock();
    const h = harness(async () => {
      throw new Error('try again');
    });
    const run = runDag(h.options(plan(node('a', { retry: { maxAttempts: 3, backoffMs: 1_000 } })), { signal: controller.signal, clock }));
    // The attempt's timeout timer goes away when the attempt fails; then only the backoff sleeps.
    await clock.waitForSleepers((pending) => pending.length === 1 && pending[0] === 1_000);
    controller.abort();
    const result = await run;
    expect(result.status).toBe('cancelled');
    expect(result.results['a']).toMatchObject({ status: 'cancelled', attempts: 1 });
  });
});

describe('runDag: dynamic revision', () => {
  it('adds a node after a completion, persists the new plan, and runs it', async () => {
    const plans: ExecutionPlan[] = [];
    const h = harness(echo);
    const result = await runDag(
      h.options(plan(node('research'), node('write', { dependsOn: ['research'] })), {
        persistPlan: async (p) => void plans.push(p),
        revise: async (snapshot, completed) => {
          if (completed !== 'research') return null;
          expect(snapshot.results['research']?.status).toBe('completed');
          return { reason: 'needs a fact check', skipNodes: [], addNodes: [node('factcheck', { dependsOn: ['research'], input: 'check {{nodes.research.output}}' })], updateNodes: [node('write', { dependsOn: ['research', 'factcheck'] })] };
        },
      }),
    );

    expect(result.status).toBe('completed');
    expect(result.plan.nodes.map((n) => n.id)).toEqual(['research', 'write', 'factcheck']);
    expect(plans).toHaveLength(1);
    expect(h.calls.map((call) => call.node.id)).toEqual(['research', 'factcheck', 'write']);
    expect(h.types().indexOf('replanned')).toBeLessThan(h.events.findIndex((event) => event.type === 'node_started' && event.node === 'factcheck'));
  });

  it('skips pending nodes by revision, cascading to dependents whose dependencies are all skipped', async () => {
    const h = harness(echo);
    const result = await runDag(
      h.options(plan(node('triage'), node('deep-dive', { dependsOn: ['triage'] }), node('report', { dependsOn: ['deep-dive'] })), {
        revise: async (_snapshot, completed) => (completed === 'triage' ? { reason: 'simple question', skipNodes: ['deep-dive'], addNodes: [], updateNodes: [] } : null),
      }),
    );
    expect(result.results['deep-dive']).toMatchObject({ status: 'skipped', skipReason: 'revised: simple question' });
    expect(result.results['report']?.status).toBe('skipped');
    expect(h.calls.map((call) => call.node.id)).toEqual(['triage']);
  });

  it('rejects an invalid revision with an event and continues on the old plan', async () => {
    const h = harness(echo);
    const result = await runDag(
      h.options(plan(node('a'), node('b', { dependsOn: ['a'] })), {
        revise: async (_snapshot, completed) => {
          if (completed === 'a') return { reason: 'redo a', skipNodes: ['a'], addNodes: [node('loop', { dependsOn: ['loop'] })], updateNodes: [] };
          return null;
        },
      }),
    );
    expect(result.status).toBe('completed');
    expect(result.plan.nodes.map((n) => n.id)).toEqual(['a', 'b']);
    const rejection = h.events.find((event) => event.type === 'revision_rejected');
    expect(rejection).toMatchObject({ after: 'a', reason: 'redo a', problems: ['cannot skip "a" is completed'] });
  });

  it('copies the state for revise only when the reviser reads it', async () => {
    const chain = plan(...Array.from({ length: 10 }, (_, index) => node(`n${index}`, index === 0 ? {} : { dependsOn: [`n${index - 1}`] })));
    const clones = vi.spyOn(globalThis, 'structuredClone');
    try {
      await runDag(harness(echo).options(chain));
      const withoutRevise = clones.mock.calls.length;
      clones.mockClear();
      const asked: string[] = [];
      const result = await runDag(
        harness(echo).options(chain, {
          revise: async (_snapshot, completed) => {
            asked.push(completed);
            return null;
          },
        }),
      );
      expect(result.status).toBe('completed');
      expect(asked).toHaveLength(10);
      // Asked after every node, yet not one copy more than a run without a reviser.
      expect(clones.mock.calls.length).toBe(withoutRevise);
      clones.mockClear();
      await runDag(
        harness(echo).options(chain, {
          revise: async (snapshot, completed) => {
            if (completed === 'n3') expect([snapshot.results['n3']?.status, snapshot.results['n3']?.status, snapshot.plan.nodes.length, snapshot.plan.goal]).toEqual(['completed', 'completed', 10, 'test']);
            return null;
          },
        }),
      );
      // Reading copies (once per field, however often it is read).
      expect(clones.mock.calls.length).toBe(withoutRevise + 2);
    } finally {
      clones.mockRestore();
    }
  });

  it('gives revise the state as it was when asked, even when read after other nodes have moved on', async () => {
    const release = deferred();
    const slowDone = deferred();
    let seen: { slow: string | undefined; fast: string | undefined; nodes: number } | undefined;
    const h = harness(async (request) => {
      if (request.node.id === 'slow') await release.promise;
      return echo(request);
    });
    const result = await runDag(
      h.options(plan(node('fast'), node('slow'), node('after', { dependsOn: ['fast'] })), {
        persist: async (nodeId, saved) => {
          if (nodeId === 'slow' && saved.status === 'completed') slowDone.resolve();
        },
        revise: async (snapshot, completed) => {
          if (completed !== 'fast') return null;
          release.resolve();
          await slowDone.promise;
          seen = { slow: snapshot.results['slow']?.status, fast: snapshot.results['fast']?.status, nodes: snapshot.plan.nodes.length };
          return { reason: 'one more', skipNodes: [], addNodes: [node('extra', { dependsOn: ['fast'] })], updateNodes: [] };
        },
      }),
    );
    expect(result.status).toBe('completed');
    // "slow" completed before the snapshot was read, but was running when revise was asked.
    expect(seen).toEqual({ slow: 'running', fast: 'completed', nodes: 3 });
    expect(result.results['slow']?.status).toBe('completed');
    expect(result.plan.nodes.map((n) => n.id)).toEqual(['fast', 'slow', 'after', 'extra']);
  });

  it('rejects a revision whose new plan does not validate (a cycle), naming the problem', async () => {
    const h = harness(echo);
    await runDag(
      h.options(plan(node('a'), node('b', { dependsOn: ['a'] })), {
        revise: async (_snapshot, completed) => (completed === 'a' ? { reason: 'loop', skipNodes: [], addNodes: [node('x', { dependsOn: ['y'] }), node('y', { dependsOn: ['x'] })], updateNodes: [] } : null),
      }),
    );
    const rejection = h.events.find((event) => event.type === 'revision_rejected');
    expect(rejection?.type === 'revision_rejected' && rejection.problems.some((problem) => problem.includes('Dependency cycle: x -> y -> x'))).toBe(true);
    expect(h.calls.map((call) => call.node.id)).toEqual(['a', 'b']);
  });
});

describe('durability order', () => {
  it('starts a dependent only once every dependency result is persisted, even while a sibling write is slow', async () => {
    const slowWrite = deferred();
    const started: string[] = [];
    const writes: string[] = [];
    const run = runDag({
      plan: plan(node('a'), node('b'), node('c', { dependsOn: ['a', 'b'] })),
      request: 'r',
      runNode: async (request) => {
        started.push(request.node.id);
        return { kind: 'completed', output: request.node.id };
      },
      persist: async (nodeId, result) => {
        // b's completed result takes a while to store; a's is immediate.
        if (nodeId === 'b' && result.status === 'completed') await slowWrite.promise;
        writes.push(`${nodeId}:${result.status}`);
      },
    });
    // Let a finish and b's slow write begin.
    await vi.waitFor(() => expect(writes).toContain('a:completed'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).not.toContain('c');
    slowWrite.resolve();
    const finished = await run;
    expect(finished.status).toBe('completed');
    expect(writes.indexOf('b:completed')).toBeLessThan(writes.indexOf('c:running'));
  });
});

describe('runDag: node failure policy, required nodes, retry budget', () => {
  const failing = (broken: ReadonlySet<string>) => async (request: NodeRunRequest): Promise<NodeRunOutcome> => {
    if (broken.has(request.node.id)) throw new EnsembleError(ErrorCode.UpstreamUnavailable, `${request.node.id} is down`);
    return { kind: 'completed', output: `${request.node.id}[${request.input}]` };
  };

  it('partial: skips what cannot run (with the failure as reason, cascading), runs the other branches, and completes', async () => {
    const h = harness(failing(new Set(['rag'])));
    const result = await runDag(
      h.options(
        plan(
          node('rag'),
          node('web'),
          node('summary', { dependsOn: ['rag'], input: 'sum {{nodes.rag.output}}' }),
          node('final', { dependsOn: ['summary', 'web'], input: '{{nodes.summary.output}} + {{nodes.web.output}}' }),
        ),
        { onNodeFailure: 'partial' },
      ),
    );

    expect(result.status).toBe('completed');
    expect(result.results['rag']).toMatchObject({ status: 'failed', error: { code: 'upstream_unavailable', message: 'rag is down' } });
    const reason = 'Dependency "rag" failed: rag is down';
    expect(result.results['summary']).toMatchObject({ status: 'skipped', attempts: 0, skipReason: reason, error: { code: 'dependency_failed', message: reason } });
    // A dependent of a failure-skipped node is skipped too, even with another dependency completed: its input is missing.
    expect(result.results['final']).toMatchObject({ status: 'skipped', skipReason: reason });
    expect(result.results['web']?.status).toBe('completed');
    expect(h.calls.map((call) => call.node.id).sort()).toEqual(['rag', 'web']);
    expect(h.events.filter((event) => event.type === 'node_skipped').map((event) => [event.node, event.reason])).toEqual([
      ['summary', reason],
      ['final', reason],
    ]);
    expect(h.saved()['summary']?.status).toBe('skipped');
    expect(h.events.at(-1)).toMatchObject({ type: 'workflow_completed', failedNodes: ['rag'] });
  });

  it('fail: the same failure blocks its dependents and fails the run (the default)', async () => {
    for (const options of [{ onNodeFailure: 'fail' as const }, {}]) {
      const h = harness(failing(new Set(['rag'])));
      const result = await runDag(h.options(plan(node('rag'), node('web'), node('summary', { dependsOn: ['rag'] })), options));
      expect(result.status).toBe('failed');
      expect(result.results['summary']).toMatchObject({ status: 'failed', error: { code: 'dependency_failed', message: 'Dependency "rag" failed: rag is down' } });
      expect(h.events.at(-1)).toMatchObject({ type: 'workflow_failed' });
    }
  });

  it('partial: fails the run when nothing succeeded, so there is nothing to answer from', async () => {
    const h = harness(failing(new Set(['only'])));
    const result = await runDag(h.options(plan(node('only'), node('next', { dependsOn: ['only'] })), { onNodeFailure: 'partial' }));
    expect(result.status).toBe('failed');
    expect(result.results['next']?.status).toBe('skipped');
  });

  it('a required node that fails fails the run under partial, even when others completed', async () => {
    const h = harness(failing(new Set(['leaf'])));
    const result = await runDag(h.options(plan(node('main'), node('leaf', { required: true })), { onNodeFailure: 'partial' }));
    expect(result.status).toBe('failed');
    expect(h.events.at(-1)).toMatchObject({ type: 'workflow_failed', failedNodes: ['leaf'] });

    // Not required: the same failure leaves a completed run.
    const relaxed = harness(failing(new Set(['leaf'])));
    expect((await runDag(relaxed.options(plan(node('main'), node('leaf', { required: null })), { onNodeFailure: 'partial' }))).status).toBe('completed');
  });

  it('a required node that cannot run because of a failure is blocked, and fails the run under partial', async () => {
    const h = harness(failing(new Set(['source'])));
    const result = await runDag(h.options(plan(node('source'), node('other'), node('must', { dependsOn: ['source'], required: true })), { onNodeFailure: 'partial' }));
    expect(result.status).toBe('failed');
    expect(result.results['must']).toMatchObject({ status: 'failed', error: { code: 'dependency_failed' } });
  });

  it('a rejected approval fails the run under partial too: what depends on the refused action is blocked', async () => {
    const waiting = { deploy: { status: 'waiting_approval', output: null, error: null, attempts: 1, agent: 'ops', startedAt: null, finishedAt: null, taskId: 't', approvalContext: { action: 'x' }, skipReason: null } } satisfies Record<string, NodeResult>;
    const h = harness(async (request) => {
      if (request.node.id === 'deploy') throw new EnsembleError(ErrorCode.Forbidden, 'the agent cancelled its task');
      return echo(request);
    });
    const result = await runDag(
      h.options(plan(node('deploy', { agent: 'ops' }), node('announce', { dependsOn: ['deploy'] }), node('docs')), {
        onNodeFailure: 'partial',
        state: waiting,
        approvals: { deploy: { approved: false, comment: 'freeze', decidedBy: 'bob' } },
      }),
    );
    expect(result.status).toBe('failed');
    expect(result.results['docs']?.status).toBe('completed');
    expect(result.results['announce']).toMatchObject({ status: 'failed', error: { code: 'dependency_failed' } });
    expect(h.calls.map((call) => call.node.id)).not.toContain('announce');
  });

  it('partial still lets the plan handle a failure itself (condition "failed")', async () => {
    const h = harness(failing(new Set(['risky'])));
    const result = await runDag(
      h.options(plan(node('risky'), node('recover', { dependsOn: ['risky'], condition: { node: 'risky', operator: 'failed', value: null } })), { onNodeFailure: 'partial' }),
    );
    expect(result.results['recover']?.status).toBe('completed');
  });

  it('jitters the backoff with the injected source, and tells the runner the node deadline', async () => {
    const h = harness(failing(new Set(['a'])));
    const start = h.clock.now();
    const draws = [0, 0.5, 0.999];
    await runDag(h.options(plan(node('a', { retry: { maxAttempts: 4, backoffMs: 1_000 } })), { random: () => draws.shift() ?? 0, retryBudgetMs: 60_000 }));
    // delay * (0.5 + r / 2): 1000 -> 500, 2000 -> 1500, 4000 -> ~4000.
    expect(h.events.filter((event) => event.type === 'node_retrying').map((event) => event.delayMs)).toEqual([500, 1_500, 3_998]);
    expect(h.calls.map((call) => call.deadline)).toEqual([start + 60_000, start + 60_000, start + 60_000, start + 60_000]);
  });

  it('stops retrying when the next backoff would end past the node retry budget', async () => {
    const h = harness(failing(new Set(['a'])));
    const result = await runDag(h.options(plan(node('a', { retry: { maxAttempts: 10, backoffMs: 1_000 } })), { retryBudgetMs: 5_000 }));
    // Waits of 1 s and 2 s fit in 5 s; the next (4 s, ending at 7 s) does not.
    expect(h.calls).toHaveLength(3);
    expect(result.results['a']).toMatchObject({ status: 'failed', attempts: 3, error: { message: 'a is down (retry budget of 5000 ms spent)' } });
  });

  it('without a budget, the deadline is infinite and the plan alone bounds retries', async () => {
    const h = harness(failing(new Set(['a'])));
    await runDag(h.options(plan(node('a', { retry: { maxAttempts: 3, backoffMs: 10_000 } }))));
    expect(h.calls).toHaveLength(3);
    expect(h.calls[0]?.deadline).toBe(Number.POSITIVE_INFINITY);
  });
});
