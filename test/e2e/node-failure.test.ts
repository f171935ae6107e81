import { reasoningEventOf } from '@ensemble/openai-a2a';
import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { finishedTasks, startMockAgent } from '../support/services.js';
import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ServiceProcess, stopAllServices } from '../support/processes.js';
import { ORCHESTRATE, type Stack, type StreamTranscript, ask, ofType, readStream, startStack } from './support/stack.js';

/**
 * Graceful degradation when an agent blips: `kill -9` of a mock agent mid-task. Restarted within a few
 * seconds, the node's retry bridges the restart and the workflow completes; kept down, the workflow's
 * failure policy decides (partial answer saying what is missing, or a clear failure), and a node the
 * plan marks `required` always fails the workflow. Real processes, through the gateway.
 */
let stack: Stack;
const restarted: ServiceProcess[] = [];

/** Starts `flaky` again on its old port (where the orchestrator's registry knows it). */
async function restartFlaky(): Promise<ServiceProcess> {
  const again = await startMockAgent({ ...working('flaky'), port: Number(new URL(stack.agents['flaky']!.url).port) });
  restarted.push(again);
  return again;
}

/** Agents that say they are working (the kill lands mid-task, after the task was created), then take 1.5 s. */
const working = (name: string) => ({ name, delayMs: 1_500, statusUpdates: [`${name} is working`] });

beforeAll(async () => {
  stack = await startStack({
    agents: [{ name: 'steady' }, working('flaky'), working('lost')],
    // Twice the default budget: restarting a mock agent (a tsx process) takes 2-3 s on an idle machine but
    // can take 10 s or more on a loaded CI box, and this test is about the bridging, not the machine.
    orchestratorEnv: { ORCHESTRATOR_NODE_RETRY_BUDGET_MS: '30000' },
  });
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(restarted.map((service) => service.stop()));
  await stack?.stop();
  await stopAllServices();
});

/** Streams `text`, killing `agent` with SIGKILL as soon as it reports progress on a node; returns what came back. */
async function killMidTask(text: string, agent: ServiceProcess, onKilled: () => void = () => undefined) {
  let killed: Promise<void> | undefined;
  const stream = await stack.openai.chat.completions.create({ ...ask(text), stream: true }, { headers: ORCHESTRATE });
  const outcome = await readStream(stream, (chunk) => {
    const event = reasoningEventOf(chunk);
    if (killed === undefined && event?.type === 'status' && event.message?.endsWith('is working') === true) {
      killed = agent.kill().then(onKilled);
    }
  }).catch((error: unknown) => error);
  await killed;
  expect(killed).toBeDefined();
  return outcome;
}

describe('an agent killed mid-task', () => {
  it('is waited for while it restarts: the workflow completes, and the node counts one retry', async () => {
    await stack.pinPlan('[blip]', plan(planNode('facts', 'steady', 'facts'), planNode('slow', 'flaky', 'slow work', { retry: { maxAttempts: 2, backoffMs: 500 } })));
    let restart: Promise<ServiceProcess> | undefined;
    const transcript = await killMidTask('[blip] survive a restart', stack.agents['flaky']!, () => {
      restart = restartFlaky();
    });
    const again = await restart!;

    expect(transcript).not.toBeInstanceOf(Error);
    const done = transcript as StreamTranscript;
    expect(done.finishReason).toBe('stop');
    expect(ofType(done.events, 'node_retrying', 'slow')).toHaveLength(1);
    expect(ofType(done.events, 'node_started', 'slow')).toHaveLength(2);
    expect(ofType(done.events, 'node_failed', 'slow')).toEqual([]);
    expect(ofType(done.events, 'node_completed', 'slow')[0]?.message).toBe('flaky(slow work)');
    expect(ofType(done.events, 'node_completed', 'facts')).toHaveLength(1);
    // While it restarted, the orchestrator said it was waiting for the agent (without spending attempts).
    expect(done.events.some((event) => event.type === 'status' && event.node === 'slow' && /not reachable/.test(event.message ?? ''))).toBe(true);
    expect(finishedTasks(again)).toBe(1);
    expect(done.content).toContain('flaky(slow work)');
  }, 60_000);

  describe('and kept down', () => {
    beforeAll(async () => {
      // A short budget, so giving up on a dead agent takes 2 s, not 15.
      await stack.orchestrator.stop();
      await stack.restartOrchestrator({ ORCHESTRATOR_NODE_RETRY_BUDGET_MS: '2000' });
    }, 60_000);

    it('partial (the default): skips what depended on it, answers from the rest, and says what is missing and why', async () => {
      await stack.pinPlan(
        '[partial]',
        plan(
          planNode('facts', 'steady', 'facts'),
          planNode('search', 'lost', 'search', { retry: { maxAttempts: 2, backoffMs: 200 } }),
          planNode('digest', 'steady', 'digest {{nodes.search.output}}', { dependsOn: ['search'] }),
        ),
      );
      const transcript = (await killMidTask('[partial] degrade', stack.agents['lost']!)) as StreamTranscript;

      expect(transcript.finishReason).toBe('stop');
      expect(ofType(transcript.events, 'node_completed', 'facts')).toHaveLength(1);
      expect(ofType(transcript.events, 'node_failed', 'search')).toHaveLength(1);
      const skipped = ofType(transcript.events, 'node_skipped', 'digest');
      expect(skipped[0]?.message).toMatch(/^Dependency "search" failed: /);
      const synthesis = ofType(transcript.events, 'synthesis').at(-1);
      expect(synthesis?.message).toBe('Writing the final answer without "search" (failed), "digest" (skipped)');
      const missing = synthesis?.metadata?.['missing'] as { node: string; agent: string | null; status: string; reason: string }[] | undefined;
      expect(missing?.map((entry) => [entry.node, entry.agent, entry.status])).toEqual([
        ['search', 'lost', 'failed'],
        ['digest', 'steady', 'skipped'],
      ]);
      expect(missing?.[1]?.reason).toMatch(/^Dependency "search" failed/);
      // The answer has what succeeded and says plainly what failed.
      expect(transcript.content).toContain('steady(facts)');
      expect(transcript.content).toMatch(/\[failed: [^\]]*lost/);
      expect(transcript.content).toMatch(/\[skipped: Dependency "search" failed/);
    }, 60_000);

    it('a required node that fails fails the workflow under partial, with a clear error', async () => {
      const flaky = restarted.at(-1) ?? (await restartFlaky());
      await stack.pinPlan('[required]', plan(planNode('facts', 'steady', 'facts'), planNode('core', 'flaky', 'core', { required: true })));
      const failure = await killMidTask('[required] essential', flaky);
      expect(failure).toBeInstanceOf(APIError);
      expect((failure as APIError).message).toMatch(/Node "core" \(agent "flaky"\) failed/);
    }, 60_000);

    it('fail: the workflow fails with a clear error naming the node', async () => {
      await stack.orchestrator.stop();
      await stack.restartOrchestrator({ ORCHESTRATOR_NODE_RETRY_BUDGET_MS: '2000', ORCHESTRATOR_ON_NODE_FAILURE: 'fail' });
      const flaky = await restartFlaky();
      await stack.pinPlan('[strict]', plan(planNode('facts', 'steady', 'facts'), planNode('search', 'flaky', 'search'), planNode('digest', 'steady', '{{nodes.search.output}}', { dependsOn: ['search'] })));
      const failure = await killMidTask('[strict] no partial answers', flaky);
      expect(failure).toBeInstanceOf(APIError);
      expect((failure as APIError).message).toMatch(/Node "search" \(agent "flaky"\) failed/);
    }, 60_000);
  });
});
