import { type NodeRunRequest, runDag } from '@ensemble/dag';
import type { ExecutionPlan, PlanNode } from '@ensemble/protocol';
import { afterAll, describe, expect, it } from 'vitest';

import { testRedis } from '../../../../test/support/redis.js';
import { sampleRequest } from '../testing/conformance.js';
import { RedisSessionStore } from './redis-store.js';

function node(id: string, dependsOn: string[] = []): PlanNode {
  return { id, agent: 'worker', skill: null, input: `${id}: {{request}}`, dependsOn, condition: null, retry: { maxAttempts: 1, backoffMs: 0 }, timeoutMs: 30_000, fallbackAgent: null, description: id };
}

/**
 * The orchestrator's durability story at library level: a run persisting per node into Redis is
 * interrupted mid-DAG (its process "dies": the run is aborted), and a second run, built only from what
 * Redis holds, finishes the workflow without repeating a finished node.
 */
describe('DAG run persisted in RedisSessionStore', () => {
  const env = testRedis();
  const store = new RedisSessionStore(env.redis, { keyPrefix: env.prefix });
  afterAll(() => env.cleanup());

  it('resumes an interrupted workflow from Redis without re-running completed nodes', async () => {
    const plan: ExecutionPlan = { goal: 'g', rationale: 'r', nodes: [node('fetch'), node('slow'), node('merge', ['fetch', 'slow'])] };
    const session = await store.create({ owner: 'alice', request: sampleRequest, dag: plan });
    const persist = (nodeId: string, result: Parameters<typeof store.putNodeResult>[3]) => store.putNodeResult(session.id, 'alice', nodeId, result);

    // First orchestrator: `fetch` finishes, and the process dies right after storing it, mid-`slow`.
    const crash = new AbortController();
    const firstCalls: string[] = [];
    // `fetch` finishes only once `slow` is running, so the crash always lands mid-`slow`.
    let slowStarted!: () => void;
    const slowRunning = new Promise<void>((resolve) => (slowStarted = resolve));
    const first = await store.withLock(session.id, 'alice', (lease) =>
      runDag({
        plan,
        request: 'compare',
        signal: AbortSignal.any([crash.signal, lease.lost]),
        persist: async (nodeId, result) => {
          await persist(nodeId, result);
          if (nodeId === 'fetch' && result.status === 'completed') crash.abort();
        },
        runNode: async (request: NodeRunRequest) => {
          firstCalls.push(request.node.id);
          if (request.node.id === 'fetch') {
            await slowRunning;
            return { kind: 'completed', output: 'fetched' };
          }
          slowStarted();
          return new Promise(() => undefined);
        },
      }),
    );
    expect(first.status).toBe('cancelled');
    expect(firstCalls.sort()).toEqual(['fetch', 'slow']);

    // Second orchestrator: everything it knows comes from Redis.
    expect((await store.listResumable({ limit: 1_000 })).map((record) => record.id)).toContain(session.id);
    const saved = await store.get(session.id, 'alice');
    const secondCalls: string[] = [];
    const second = await store.withLock(session.id, 'alice', () =>
      runDag({
        plan: saved.dag ?? plan,
        request: 'compare',
        state: saved.nodes,
        persist,
        runNode: async (request) => {
          secondCalls.push(request.node.id);
          return { kind: 'completed', output: `${request.node.id} done (${request.input})` };
        },
      }),
    );

    expect(second.status).toBe('completed');
    expect(secondCalls).toEqual(['slow', 'merge']);
    const final = await store.get(session.id, 'alice');
    expect(final.nodes['fetch']).toMatchObject({ status: 'completed', output: 'fetched', attempts: 1 });
    expect(final.nodes['merge']?.status).toBe('completed');
    await store.finish(session.id, 'alice', { status: 'completed' });
  });
});
