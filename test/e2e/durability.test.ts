import { type EnsembleChatCompletion, reasoningEventOf } from '@ensemble/openai-a2a';
import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { finishedTasks } from '../support/services.js';
import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { stopAllServices } from '../support/processes.js';
import { ORCHESTRATE, type Stack, ask, ofType, readStream, startDurableStack } from './support/stack.js';

/**
 * Workflows outlive connections and processes: a client that disconnects re-attaches by session id,
 * and a workflow whose orchestrator is killed mid-DAG completes after a restart without repeating the
 * nodes that had finished. Real processes, through the gateway with the `openai` SDK.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startDurableStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stopAllServices();
});

const THREE_STEPS = plan(
  planNode('quick', 'alpha', 'quick step'),
  planNode('long', 'slow', 'after {{nodes.quick.output}}', { dependsOn: ['quick'] }),
  planNode('last', 'beta', 'finish {{nodes.long.output}}', { dependsOn: ['long'] }),
);

describe('durable workflows', () => {
  it('keeps running when the client disconnects, and re-attaches when it re-sends its session id', async () => {
    await stack.pinPlan('[disconnect]', THREE_STEPS);
    const alphaBefore = finishedTasks(stack.agents['alpha']!);
    const client = new AbortController();
    const { data, response } = await stack.openai.chat.completions
      .create({ ...ask('[disconnect] three steps'), stream: true }, { headers: ORCHESTRATE, signal: client.signal })
      .withResponse();
    const sessionId = response.headers.get('x-session-id')!;
    await readStream(data, (chunk) => {
      if (reasoningEventOf(chunk)?.type === 'node_started' && reasoningEventOf(chunk)?.node === 'long') client.abort();
    }).catch(() => undefined);
    expect(client.signal.aborted).toBe(true);
    // The gateway noticed the disconnect and stopped reading; the orchestrator's task was not cancelled.
    await stack.gateway.waitForLine((line) => line['msg'] === 'orchestration stream ended' && line['session_id'] === sessionId && line['outcome'] === 'client_disconnected');

    const resumed = await stack.openai.chat.completions
      .create({ ...ask('[disconnect] three steps'), stream: true }, { headers: { ...ORCHESTRATE, 'X-Session-ID': sessionId } })
      .withResponse();
    expect(resumed.response.headers.get('x-session-id')).toBe(sessionId);
    const transcript = await readStream(resumed.data);
    expect(transcript.finishReason).toBe('stop');
    expect(transcript.content).toContain('[sim-llm]');
    expect(ofType(transcript.events, 'node_completed', 'last')).toHaveLength(1);
    // Without Last-Event-ID the client gets the whole turn so far from the session's log, each event once.
    expect(ofType(transcript.events, 'node_started', 'quick')).toHaveLength(1);
    expect(ofType(transcript.events, 'plan_ready')).toHaveLength(1);
    // One workflow ran: "quick" ran once, and no second session was created.
    expect(finishedTasks(stack.agents['alpha']!) - alphaBefore).toBe(1);
    await stack.gateway.waitForLine((line) => line['msg'] === 're-attached to the workflow through its event log' && line['session_id'] === sessionId);
  });

  it('completes after the orchestrator is killed mid-DAG and restarted, without repeating finished nodes', async () => {
    await stack.pinPlan('[crash]', THREE_STEPS);
    const alphaBefore = finishedTasks(stack.agents['alpha']!);
    const { data, response } = await stack.openai.chat.completions.create({ ...ask('[crash] survive this'), stream: true }, { headers: ORCHESTRATE }).withResponse();
    const sessionId = response.headers.get('x-session-id')!;
    let killed: Promise<void> | undefined;
    const broken = await readStream(data, (chunk) => {
      if (killed === undefined && reasoningEventOf(chunk)?.type === 'node_started' && reasoningEventOf(chunk)?.node === 'long') killed = stack.orchestrator.kill();
    }).catch((error: unknown) => error);
    await killed;
    // The client is told the workflow is kept and how to resume it.
    expect(broken).toBeInstanceOf(APIError);
    expect((broken as APIError).code).toBe('orchestrator_disconnected');
    expect((broken as APIError).message).toContain(`X-Session-ID: ${sessionId}`);

    await stack.restartOrchestrator();
    // The dead orchestrator's lease on the session expires on its own (SESSION_LEASE_MS).
    await vi.waitFor(async () => expect(await stack.redis.redis.exists(`${stack.redis.prefix}session:${sessionId}:lock`)).toBe(0), { timeout: 10_000, interval: 100 });

    const resumed = await stack.openai.chat.completions.create(ask('[crash] survive this'), { headers: { ...ORCHESTRATE, 'X-Session-ID': sessionId } }).withResponse();
    expect(resumed.response.headers.get('x-session-id')).toBe(sessionId);
    const completion = resumed.data;
    expect(completion.choices[0]).toMatchObject({ finish_reason: 'stop', message: { role: 'assistant' } });
    expect(completion.choices[0]?.message.content).toContain('[sim-llm]');
    const events = (completion as unknown as EnsembleChatCompletion).choices[0]?.message.reasoning_events ?? [];
    expect(ofType(events, 'node_started', 'quick')).toHaveLength(0);
    expect(ofType(events, 'node_completed', 'long')).toHaveLength(1);
    expect(ofType(events, 'node_completed', 'last')).toHaveLength(1);
    expect(finishedTasks(stack.agents['alpha']!) - alphaBefore).toBe(1);
  }, 60_000);
});
