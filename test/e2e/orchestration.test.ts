import { type EnsembleChatCompletion, reasoningEventOf } from '@ensemble/openai-a2a';
import type { SessionCancelResult, SessionList, SessionView } from '@ensemble/protocol';
import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { finishedTasks } from '../support/services.js';
import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { stopAllServices } from '../support/processes.js';
import { ORCHESTRATE, OTHER_API_TOKEN, type Stack, type StreamTranscript, ask, indexOf, ofType, readStream, startStack } from './support/stack.js';

/**
 * The complex path end to end, as a client sees it: OpenAI requests to the gateway (through the
 * official `openai` SDK), planned by the real planning agent (plans pinned with sim-llm scripts), run by
 * the orchestrator against mock agents, all real processes on port 0 with this file's Redis prefix.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    agents: [
      { name: 'alpha', delayMs: 300, statusUpdates: ['alpha is looking'] },
      { name: 'beta', delayMs: 300 },
      { name: 'broken', failure: { mode: 'always', message: 'broken on purpose' } },
      { name: 'replanner', reply: 'partial answer', data: { replan: { reason: 'REPLAN-MARKER needs a follow-up step' } } },
      { name: 'slow', delayMs: 1_500 },
      { name: 'sleeper', failure: { mode: 'hang' }, statusUpdates: ['sleeping'] },
      { name: 'doomed' },
    ],
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stopAllServices();
});

async function simConfig(config: { tokensPerSecond: number }): Promise<void> {
  const response = await fetch(`${stack.sim.url}/_sim/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) });
  expect(response.ok).toBe(true);
}

/** Starts a streamed complex request: the headers are there before any chunk is read. */
async function open(text: string) {
  const { data, response } = await stack.openai.chat.completions.create({ ...ask(text), stream: true }, { headers: ORCHESTRATE }).withResponse();
  return { stream: data, headers: response.headers, sessionId: response.headers.get('x-session-id') ?? '' };
}

/** Streams a complex request to the end; returns the transcript and the response headers. */
async function streamed(text: string, onChunk?: Parameters<typeof readStream>[1]): Promise<{ transcript: StreamTranscript; headers: Headers }> {
  const { stream, headers } = await open(text);
  return { transcript: await readStream(stream, onChunk), headers };
}

describe('a complex request through the gateway', () => {
  it('is planned, run on several agents in parallel, and streamed back as OpenAI chunks', async () => {
    await stack.pinPlan(
      '[fanout]',
      plan(
        planNode('a', 'alpha', 'first part'),
        planNode('b', 'beta', 'second part'),
        planNode('c', 'alpha', 'combine {{nodes.a.output}} and {{nodes.b.output}}', { dependsOn: ['a', 'b'] }),
      ),
    );
    // Paced like a real model, so the answer arrives as a stream of pieces rather than one burst that
    // the agents' artifact batching (50 ms) would publish as a single chunk.
    await simConfig({ tokensPerSecond: 100 });
    const { transcript, headers } = await streamed('[fanout] compare two things, then combine them').finally(() => simConfig({ tokensPerSecond: 0 }));
    const { chunks, events } = transcript;

    // The session id was a response header, so the client had it before the first byte.
    expect(headers.get('x-session-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(headers.get('x-routing-decision')).toMatch(/^orchestration; source=header/);

    // OpenAI's chunk format, as the SDK parsed it.
    const id = chunks[0]?.id;
    expect(id).toMatch(/^chatcmpl-/);
    for (const chunk of chunks) expect(chunk).toMatchObject({ id, object: 'chat.completion.chunk', model: 'ensemble' });
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(transcript.finishReason).toBe('stop');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');

    // Progress in a stable order, every event attributed. (Before planning: the task's own `submitted`.)
    expect(events.find((event) => event.type !== 'status')?.type).toBe('planning');
    expect(events.map((event) => event.type)).toContain('plan_ready');
    const sequences = events.map((event) => event.sequence ?? -1);
    for (let index = 1; index < sequences.length; index += 1) expect(sequences[index]).toBeGreaterThan(sequences[index - 1]!);
    for (const event of events) expect(event.agent, JSON.stringify(event)).toEqual(expect.any(String));
    for (const event of events.filter((item) => item.type.startsWith('node_'))) expect(event.node, JSON.stringify(event)).toEqual(expect.any(String));
    expect(events).toContainEqual(expect.objectContaining({ type: 'status', agent: 'alpha', node: 'a', message: 'alpha is looking' }));
    expect(ofType(events, 'node_started', 'b')[0]?.agent).toBe('beta');

    // a and b overlapped: both started before either finished.
    const firstDone = Math.min(indexOf(events, 'node_completed', 'a'), indexOf(events, 'node_completed', 'b'));
    expect(indexOf(events, 'node_started', 'a')).toBeLessThan(firstDone);
    expect(indexOf(events, 'node_started', 'b')).toBeLessThan(firstDone);
    // c waited for both and got both outputs.
    expect(indexOf(events, 'node_started', 'c')).toBeGreaterThan(Math.max(indexOf(events, 'node_completed', 'a'), indexOf(events, 'node_completed', 'b')));
    expect(ofType(events, 'node_completed', 'c')[0]?.message).toBe('alpha(combine alpha(first part) and beta(second part))');

    // The answer is the orchestrator's synthesis, streamed in several chunks after the progress.
    const contentChunks = chunks.filter((chunk) => (chunk.choices[0]?.delta.content ?? '') !== '');
    expect(contentChunks.length).toBeGreaterThan(1);
    expect(transcript.content).toContain('[sim-llm]');
    expect(chunks.indexOf(contentChunks[0]!)).toBeGreaterThan(chunks.findIndex((chunk) => reasoningEventOf(chunk)?.type === 'synthesis'));
  });

  it('answers a non-streaming client with one chat.completion, and replays it for the session id', async () => {
    await stack.pinPlan('[single]', plan(planNode('only', 'beta', 'just this')));
    const { data, response } = await stack.openai.chat.completions.create(ask('[single] one thing'), { headers: ORCHESTRATE }).withResponse();
    const completion = data as EnsembleChatCompletion;
    const sessionId = response.headers.get('x-session-id');
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(completion).toMatchObject({ object: 'chat.completion', model: 'ensemble', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant' } }] });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.choices[0]?.message.content).toContain('[sim-llm]');
    expect(ofType(completion.choices[0]?.message.reasoning_events ?? [], 'node_completed', 'only')[0]).toMatchObject({ agent: 'beta', message: 'beta(just this)' });

    // The workflow finished; re-sending with its id returns the same answer without running it again.
    const betaBefore = finishedTasks(stack.agents['beta']!);
    const replay = await stack.openai.chat.completions.create(ask('again'), { headers: { ...ORCHESTRATE, 'X-Session-ID': sessionId! } });
    expect(replay.choices[0]?.message.content).toBe(completion.choices[0]?.message.content);
    expect(finishedTasks(stack.agents['beta']!)).toBe(betaBefore);
  });

  it('skips a branch whose condition is false', async () => {
    const betaBefore = finishedTasks(stack.agents['beta']!);
    await stack.pinPlan(
      '[condition]',
      plan(
        planNode('a', 'alpha', 'check'),
        planNode('b', 'beta', 'only if nope', { dependsOn: ['a'], condition: { node: 'a', operator: 'contains', value: 'nope' } }),
        planNode('c', 'alpha', 'only if alpha', { dependsOn: ['a'], condition: { node: 'a', operator: 'contains', value: 'alpha(' } }),
      ),
    );
    const { transcript } = await streamed('[condition] check, then branch');
    expect(ofType(transcript.events, 'node_skipped', 'b')[0]?.message).toMatch(/condition/i);
    expect(ofType(transcript.events, 'node_started', 'b')).toHaveLength(0);
    expect(ofType(transcript.events, 'node_completed', 'c')).toHaveLength(1);
    expect(finishedTasks(stack.agents['beta']!)).toBe(betaBefore);
  });

  it('re-plans when an agent asks for it and runs the node the planner added', async () => {
    const first = planNode('first', 'replanner', 'start');
    // The revision: the same plan plus a node that uses the first one's output.
    await stack.pinPlan(
      'REPLAN-MARKER',
      { ...plan(first, planNode('followup', 'beta', 'follow up on {{nodes.first.output}}', { dependsOn: ['first'] })), goal: 'revised' },
      { times: 1 },
    );
    await stack.pinPlan('[replan]', plan(first));
    const { transcript } = await streamed('[replan] something that needs a second step');
    expect(ofType(transcript.events, 'replanned')[0]).toMatchObject({ metadata: { after: 'first', added: ['followup'] } });
    expect(ofType(transcript.events, 'node_completed', 'followup')[0]?.message).toBe('beta(follow up on partial answer)');
    expect(indexOf(transcript.events, 'node_started', 'followup')).toBeGreaterThan(transcript.events.findIndex((event) => event.type === 'replanned'));
    expect(transcript.finishReason).toBe('stop');
  });

  it('does not repeat a task the agent failed (a definitive answer), and falls back to another agent', async () => {
    const brokenBefore = finishedTasks(stack.agents['broken']!, 'failed');
    await stack.pinPlan('[fallback]', plan(planNode('x', 'broken', 'try this', { retry: { maxAttempts: 2, backoffMs: 100 }, fallbackAgent: 'alpha' })));
    const { transcript } = await streamed('[fallback] flaky work');
    const retries = ofType(transcript.events, 'node_retrying', 'x');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ agent: 'alpha', metadata: { fallback: true } });
    expect(ofType(transcript.events, 'node_completed', 'x')[0]).toMatchObject({ agent: 'alpha', message: 'alpha(try this)' });
    expect(finishedTasks(stack.agents['broken']!, 'failed') - brokenBefore).toBe(1);
  });

  it('reports a failed workflow as an OpenAI error the SDK raises, naming the node', async () => {
    await stack.pinPlan('[doomed]', plan(planNode('bad', 'broken', 'fail')));
    const failure = await streamed('[doomed] will not work').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).message).toMatch(/Node "bad" \(agent "broken"\) failed/);

    const blocking = await stack.openai.chat.completions.create(ask('[doomed] again, blocking'), { headers: ORCHESTRATE }).catch((error: unknown) => error);
    expect(blocking).toBeInstanceOf(APIError);
    expect((blocking as APIError).status).toBe(502);
    expect((blocking as APIError).code).toBe('agent_failed');
  });
});

describe('sessions', () => {
  it('shows a running session to its owner only, and refuses concurrent requests on it with 409', async () => {
    await stack.pinPlan('[busy]', plan(planNode('quick', 'alpha', 'quick'), planNode('long', 'slow', 'take your time', { dependsOn: ['quick'] })));
    let checks: Promise<void> | undefined;
    const { stream, sessionId: id } = await open('[busy] a long job');
    const transcript = await readStream(stream, (chunk) => {
      if (checks !== undefined || reasoningEventOf(chunk)?.type !== 'node_started' || reasoningEventOf(chunk)?.node !== 'long') return;
      checks = (async () => {
        const view = (await (await stack.request(`/v1/sessions/${id}`)).json()) as SessionView;
        expect(view).toMatchObject({ object: 'session', id, status: 'active', plan: { nodes: [{ id: 'quick' }, { id: 'long', depends_on: ['quick'] }] } });
        expect(view.nodes['quick']).toMatchObject({ status: 'completed', agent: 'alpha', output: 'alpha(quick)' });
        expect(view.nodes['long']).toMatchObject({ status: 'running', agent: 'slow' });
        expect(JSON.stringify(view)).not.toMatch(/owner|taskId|task_id/);

        const list = (await (await stack.request('/v1/sessions')).json()) as SessionList;
        expect(list.data.map((item) => item.id)).toContain(id);
        // Another caller: the session does not exist for them.
        expect((await stack.request(`/v1/sessions/${id}`, {}, OTHER_API_TOKEN)).status).toBe(404);
        const theirs = (await (await stack.request('/v1/sessions', {}, OTHER_API_TOKEN)).json()) as SessionList;
        expect(theirs.data.map((item) => item.id)).not.toContain(id);

        // Concurrent requests on the session while its client reads it: every one is refused.
        const attempts = await Promise.all(
          [1, 2, 3].map(() =>
            stack.request('/v1/chat/completions', {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'X-Session-ID': id, ...ORCHESTRATE },
              body: JSON.stringify({ ...ask('me too'), stream: true }),
            }),
          ),
        );
        for (const attempt of attempts) {
          expect(attempt.status).toBe(409);
          expect(await attempt.json()).toMatchObject({ error: { code: 'session_busy', type: expect.any(String) as string } });
        }
      })();
    });
    await checks;
    // The first request proceeded undisturbed.
    expect(transcript.finishReason).toBe('stop');
    expect(ofType(transcript.events, 'node_completed', 'long')).toHaveLength(1);
    // Finished sessions are deleted; asking says how it ended.
    const gone = await stack.request(`/v1/sessions/${id}`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { code: 'session_finished' } });
  });

  it('answers an unknown session id with 404', async () => {
    const response = await stack.request('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Session-ID': '00000000-0000-4000-8000-000000000000', ...ORCHESTRATE },
      body: JSON.stringify(ask('continue')),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'session_not_found' } });
    expect((await stack.request('/v1/sessions/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('cancels a running workflow with DELETE: the agent’s task is cancelled and the session deleted', async () => {
    await stack.pinPlan('[cancel]', plan(planNode('forever', 'sleeper', 'never ends')));
    const cancelledBefore = finishedTasks(stack.agents['sleeper']!, 'canceled');
    let cancel: Promise<Response> | undefined;
    const { stream, sessionId } = await open('[cancel] stop me');
    const outcome = await readStream(stream, (chunk) => {
      // Once the agent's task exists (its progress carries the task id), cancel the session.
      const event = reasoningEventOf(chunk);
      if (cancel === undefined && event?.agent === 'sleeper' && typeof event.metadata?.['agent_task_id'] === 'string') {
        cancel = stack.request(`/v1/sessions/${sessionId}`, { method: 'DELETE' });
      }
    }).catch((error: unknown) => error);

    const deleted = await cancel;
    expect(deleted?.status).toBe(200);
    expect((await deleted?.json()) as SessionCancelResult).toMatchObject({ object: 'session.cancelled', id: sessionId, cancelled: true });
    // The open stream ended with the cancellation, as an error the SDK raises.
    expect(outcome).toBeInstanceOf(APIError);
    await stack.agents['sleeper']!.waitForLine(() => finishedTasks(stack.agents['sleeper']!, 'canceled') > cancelledBefore, 10_000);
    const gone = await stack.request(`/v1/sessions/${sessionId}`);
    expect(await gone.json()).toMatchObject({ error: { code: 'session_finished', message: expect.stringMatching(/cancelled/) as string } });
  });
});

describe('agents', () => {
  it('lists the discovered agents and marks a killed one unavailable', async () => {
    const list = async () => ((await (await stack.request('/v1/agents')).json()) as { object: string; data: { name: string | null; available: boolean; skills: unknown[] }[] });
    await vi.waitFor(async () => expect((await list()).data.every((agent) => agent.available)).toBe(true), { timeout: 10_000, interval: 100 });
    const before = await list();
    expect(before.object).toBe('list');
    expect(before.data.map((agent) => agent.name)).toEqual(expect.arrayContaining(['alpha', 'beta', 'doomed', 'slow']));
    expect(before.data.find((agent) => agent.name === 'alpha')?.skills).toHaveLength(1);

    await stack.agents['doomed']!.kill();
    await vi.waitFor(async () => expect((await list()).data.find((agent) => agent.name === 'doomed')?.available).toBe(false), { timeout: 10_000, interval: 100 });
    expect((await list()).data.find((agent) => agent.name === 'alpha')?.available).toBe(true);
  });
});
