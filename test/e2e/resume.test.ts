import { RedisReplicaRegistry } from '@ensemble/a2a/redis';
import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { freePort } from '../support/ports.js';
import { stopAllServices } from '../support/processes.js';
import { finishedTasks } from '../support/services.js';
import { API_TOKEN, ORCHESTRATE, OTHER_API_TOKEN, type Stack, ask, startDurableStack } from './support/stack.js';

/**
 * Every workflow event is written once to the session's event log, and its position is the SSE `id:` the
 * client gets. A client that re-sends with `X-Session-ID` and `Last-Event-ID` resumes exactly after what
 * it saw: on any gateway replica, mid-answer, and while the orchestrator that runs the workflow is being
 * replaced. Raw SSE over `fetch` here, because the `openai` SDK does not expose event ids.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startDurableStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stopAllServices();
});

interface Frame {
  id: number | undefined;
  data: string;
}

interface RawTurn {
  status: number;
  sessionId: string;
  frames: Frame[];
  /** The connection broke before the stream ended (the server went away). */
  cut?: boolean;
}

/** One orchestrated streaming request, read frame by frame until the end or until `stopWhen` says so (then the client goes away). */
async function rawTurn(baseUrl: string, text: string, headers: Record<string, string> = {}, stopWhen?: (frames: readonly Frame[]) => boolean): Promise<RawTurn> {
  const client = new AbortController();
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json', ...ORCHESTRATE, ...headers },
    body: JSON.stringify({ ...ask(text), stream: true }),
    signal: client.signal,
  });
  const turn: RawTurn = { status: response.status, sessionId: response.headers.get('x-session-id') ?? '', frames: [] };
  if (response.body === null || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    turn.frames.push({ id: undefined, data: await response.text() });
    return turn;
  }
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return turn;
      buffer += decoder.decode(value, { stream: true });
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const frame: Frame = { id: undefined, data: '' };
        for (const line of buffer.slice(0, cut).split('\n')) {
          if (line.startsWith('id: ')) frame.id = Number(line.slice(4));
          else if (line.startsWith('data: ')) frame.data += line.slice(6);
        }
        buffer = buffer.slice(cut + 2);
        turn.frames.push(frame);
        if (stopWhen?.(turn.frames) === true) {
          client.abort();
          return turn;
        }
      }
    }
  } catch {
    if (!client.signal.aborted) turn.cut = true;
    return turn;
  }
}

type Chunk = { choices?: { delta?: { content?: string; reasoning_event?: { type: string; node?: string } } }[]; error?: { code?: string } };

function chunks(frames: readonly Frame[]): Chunk[] {
  return frames.filter((frame) => frame.data !== '[DONE]').map((frame) => JSON.parse(frame.data) as Chunk);
}

function contentOf(frames: readonly Frame[]): string {
  return chunks(frames)
    .map((chunk) => chunk.choices?.[0]?.delta?.content ?? '')
    .join('');
}

/** The distinct event ids, in the order the client got them. */
function idsOf(frames: readonly Frame[]): number[] {
  const ids: number[] = [];
  for (const frame of frames) if (frame.id !== undefined && ids.at(-1) !== frame.id) ids.push(frame.id);
  return ids;
}

function startedNodes(frames: readonly Frame[], node: string): number {
  return chunks(frames).filter((chunk) => chunk.choices?.[0]?.delta?.reasoning_event?.type === 'node_started' && chunk.choices[0].delta.reasoning_event.node === node).length;
}

/** Kills the orchestrator once the running `long` node's record holds its agent task id. */
async function killOnceTaskSaved(frames: readonly Frame[]): Promise<void> {
  const sessionId = chunks(frames)
    .map((chunk) => (chunk as { choices?: { delta?: { reasoning_event?: { metadata?: { session_id?: string } } } }[] }).choices?.[0]?.delta?.reasoning_event?.metadata?.session_id)
    .find((id) => id !== undefined);
  await vi.waitFor(
    async () => {
      const record = await stack.redis.redis.hget(`${stack.redis.prefix}session:${sessionId}:nodes`, 'long');
      expect((JSON.parse(record ?? '{}') as { taskId?: string }).taskId).toEqual(expect.any(String));
    },
    { timeout: 5_000, interval: 20 },
  );
  await stack.orchestrator.kill();
}

const TWO_STEPS = plan(planNode('first', 'alpha', 'first step'), planNode('second', 'beta', 'second after {{nodes.first.output}}', { dependsOn: ['first'] }));

describe('resuming from the event log', () => {
  it('numbers every event, and resumes mid-answer after Last-Event-ID on another gateway with nothing lost or repeated', async () => {
    await stack.pinPlan('[resume]', TWO_STEPS);
    const undisturbed = await rawTurn(stack.gateway.url, '[resume] two steps please');
    expect(undisturbed.status).toBe(200);
    expect(undisturbed.frames.at(-1)?.data).toBe('[DONE]');
    const undisturbedIds = idsOf(undisturbed.frames);
    expect(undisturbedIds.length).toBeGreaterThan(3);
    // Positions: strictly increasing, one per event.
    expect([...undisturbedIds].sort((a, b) => a - b)).toEqual(undisturbedIds);
    expect(new Set(undisturbedIds).size).toBe(undisturbedIds.length);

    const alphaBefore = finishedTasks(stack.agents['alpha']!);
    // The client goes away right after the first piece of the answer.
    const first = await rawTurn(stack.gateway.url, '[resume] two steps please', {}, (frames) => contentOf(frames) !== '');
    const lastSeen = idsOf(first.frames).at(-1)!;
    expect(lastSeen).toBeGreaterThan(0);

    const replica = await stack.startGateway();
    const rest = await rawTurn(replica.url, '[resume] two steps please', { 'X-Session-ID': first.sessionId, 'Last-Event-ID': String(lastSeen) });
    expect(rest.status).toBe(200);
    expect(rest.sessionId).toBe(first.sessionId);
    expect(rest.frames.at(-1)?.data).toBe('[DONE]');
    // Exactly the rest: the reassembled answer is the undisturbed one, and no event came twice.
    expect(contentOf(first.frames) + contentOf(rest.frames)).toBe(contentOf(undisturbed.frames));
    const restIds = idsOf(rest.frames);
    expect(restIds.every((id) => id > lastSeen)).toBe(true);
    expect(startedNodes(rest.frames, 'first') + startedNodes(first.frames, 'first')).toBe(1);
    // The client saw every logged event of the turn once, under the position the log gave it.
    const log = (await (await stack.request(`/v1/sessions/${first.sessionId}/events`)).json()) as { data: { position: number; kind: string }[]; head: number };
    const shown = log.data.filter((record) => record.kind === 'progress' || record.kind === 'answer').map((record) => record.position);
    expect([...idsOf(first.frames), ...restIds].filter((id) => shown.includes(id))).toEqual(shown);
    // One workflow ran: the agent was called once for the disturbed session.
    expect(finishedTasks(stack.agents['alpha']!) - alphaBefore).toBe(1);
    await replica.waitForLine((line) => line['msg'] === 're-attached to the workflow through its event log' && line['session_id'] === first.sessionId);
  }, 60_000);

  it('lets a re-send during a takeover wait on the log instead of a 409, and finishes when another orchestrator takes over', async () => {
    await stack.pinPlan('[takeover]', plan(planNode('quick', 'alpha', 'quick step'), planNode('long', 'slow', 'after {{nodes.quick.output}}', { dependsOn: ['quick'] })));
    const alphaBefore = finishedTasks(stack.agents['alpha']!);
    const slowBefore = finishedTasks(stack.agents['slow']!);
    let killed: Promise<void> | undefined;
    const broken = await rawTurn(stack.gateway.url, '[takeover] keep going', {}, (frames) => {
      // Killed once the slow agent's task id is saved with the node: that task outlives the orchestrator.
      if (killed === undefined && startedNodes(frames, 'long') > 0) killed = killOnceTaskSaved(frames);
      return false;
    });
    await killed;
    expect(chunks(broken.frames).at(-1)?.error?.code).toBe('orchestrator_disconnected');
    const lastSeen = idsOf(broken.frames).at(-1)!;

    // The re-send goes out before any orchestrator runs the session again: it waits on the log.
    const resending = rawTurn(stack.gateway.url, '[takeover] keep going', { 'X-Session-ID': broken.sessionId, 'Last-Event-ID': String(lastSeen) });
    await stack.restartOrchestrator({ ORCHESTRATOR_RESUME_SCAN_MS: '200' });
    const rest = await resending;
    expect(rest.status).toBe(200);
    expect(rest.frames.at(-1)?.data).toBe('[DONE]');
    expect(contentOf(rest.frames)).toContain('[sim-llm]');
    expect(idsOf(rest.frames).every((id) => id > lastSeen)).toBe(true);
    // The finished node was not run again, and the surviving agent task was reconnected to, not re-sent.
    expect(startedNodes(rest.frames, 'quick')).toBe(0);
    expect(finishedTasks(stack.agents['alpha']!) - alphaBefore).toBe(1);
    expect(finishedTasks(stack.agents['slow']!) - slowBefore).toBe(1);
    await stack.orchestrator.waitForLine((line) => line['msg'] === 'reconnecting to the agent task the node was running' && line['node'] === 'long');
    await stack.orchestrator.waitForLine((line) => line['msg'] === 'resuming orphaned session' && line['session_id'] === broken.sessionId);
  }, 60_000);

  it('continues an answer cut by an orchestrator kill mid-synthesis, rather than restarting it', async () => {
    await stack.pinPlan('[mid-answer]', TWO_STEPS);
    const undisturbed = await rawTurn(stack.gateway.url, '[mid-answer] two steps please');
    let killed: Promise<void> | undefined;
    const broken = await rawTurn(stack.gateway.url, '[mid-answer] two steps please', {}, (frames) => {
      if (killed === undefined && contentOf(frames) !== '') killed = stack.orchestrator.kill();
      return false;
    });
    await killed;
    expect(contentOf(broken.frames)).not.toBe('');
    const lastSeen = idsOf(broken.frames).at(-1)!;
    const resending = rawTurn(stack.gateway.url, '[mid-answer] two steps please', { 'X-Session-ID': broken.sessionId, 'Last-Event-ID': String(lastSeen) });
    await stack.restartOrchestrator({ ORCHESTRATOR_RESUME_SCAN_MS: '200' });
    const rest = await resending;
    expect(rest.frames.at(-1)?.data).toBe('[DONE]');
    expect(contentOf(broken.frames) + contentOf(rest.frames)).toBe(contentOf(undisturbed.frames));
  }, 60_000);

  it('re-attaches through another gateway after the one streaming is killed', async () => {
    await stack.pinPlan('[gateway-kill]', TWO_STEPS);
    const undisturbed = await rawTurn(stack.gateway.url, '[gateway-kill] two steps please');
    const doomed = await stack.startGateway();
    let killed: Promise<void> | undefined;
    const seen = await rawTurn(doomed.url, '[gateway-kill] two steps please', {}, (frames) => {
      if (killed === undefined && idsOf(frames).length >= 3) killed = doomed.kill();
      return false;
    });
    await killed;
    expect(seen.cut).toBe(true);
    const lastSeen = idsOf(seen.frames).at(-1)!;
    const rest = await rawTurn(stack.gateway.url, '[gateway-kill] two steps please', { 'X-Session-ID': seen.sessionId, 'Last-Event-ID': String(lastSeen) });
    expect(rest.status).toBe(200);
    expect(rest.frames.at(-1)?.data).toBe('[DONE]');
    expect(contentOf(seen.frames) + contentOf(rest.frames)).toBe(contentOf(undisturbed.frames));
    expect(idsOf(rest.frames).every((id) => id > lastSeen)).toBe(true);
  }, 60_000);

  it('finds the orchestrators in the replica registry, spreads requests over them and skips one that is down', async () => {
    await stack.pinPlan('[replicas]', TWO_STEPS);
    // A replica announced but down (crashed before its announcement ran out), and a configured URL
    // that is wrong: the gateway goes by the registry, where the live orchestrator announced itself.
    const registry = new RedisReplicaRegistry(stack.redis.redis, { keyPrefix: stack.redis.prefix });
    const down = `http://127.0.0.1:${await freePort()}`;
    await registry.announce('orchestrator', down, 60_000);
    const gateway = await stack.startGateway({ ORCHESTRATOR_URL: `http://127.0.0.1:${await freePort()}` });
    const seen = await gateway.waitForLine((line) => line['msg'] === 'replicas changed');
    expect([...(seen['replicas'] as string[])].sort()).toEqual([down, stack.orchestrator.url].sort());
    // Two requests: one of them starts with the replica that is down, and both are answered.
    for (const attempt of [1, 2]) {
      const turn = await rawTurn(gateway.url, `[replicas] two steps please (${attempt})`);
      expect(turn.frames.at(-1)?.data).toBe('[DONE]');
    }
    await gateway.waitForLine((line) => line['msg'] === 'orchestrator replica not reachable; trying the next one');
    await registry.withdraw('orchestrator', down);
  }, 60_000);

  it('carries the client’s X-Request-ID through the orchestrator to the planner and every agent', async () => {
    await stack.pinPlan('[request-id]', TWO_STEPS);
    const turn = await rawTurn(stack.gateway.url, '[request-id] two steps please', { 'X-Request-ID': 'req-e2e-follow-me' });
    expect(turn.frames.at(-1)?.data).toBe('[DONE]');
    const mine = (line: Record<string, unknown>) => line['msg'] === 'request' && line['request_id'] === 'req-e2e-follow-me';
    await Promise.all([stack.orchestrator.waitForLine(mine), stack.planner.waitForLine(mine), stack.agents['alpha']!.waitForLine(mine), stack.agents['beta']!.waitForLine(mine)]);
  });

  it('serves the session’s log as JSON and as a resumable SSE tail, to its owner only', async () => {
    await stack.pinPlan('[log]', TWO_STEPS);
    const turn = await rawTurn(stack.gateway.url, '[log] two steps please');
    const path = `/v1/sessions/${turn.sessionId}/events`;

    const page = (await (await stack.request(`${path}?after=2&limit=3`)).json()) as { object: string; data: { position: number; kind: string }[]; head: number; truncated: boolean };
    expect(page).toMatchObject({ object: 'list', truncated: false });
    expect(page.data.map((record) => record.position)).toEqual([3, 4, 5]);
    expect(page.head).toBeGreaterThanOrEqual(idsOf(turn.frames).at(-1)!);

    const tail = await stack.request(path, { headers: { accept: 'text/event-stream', 'last-event-id': String(page.head - 2) } });
    expect(tail.headers.get('content-type')).toContain('text/event-stream');
    const reader = tail.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    let text = '';
    while ((text.match(/\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toMatch(new RegExp(`^id: ${page.head - 1}\\nevent: \\w+\\ndata: \\{"position":${page.head - 1},`));

    const other = await stack.request(path, {}, OTHER_API_TOKEN);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: 'session_not_found' } });
    const bad = await stack.request(`${path}?after=-1`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { param: 'after' } });
  }, 60_000);
});
