import { Writable } from 'node:stream';

import type { ListTasksRequest, ListTasksResponse, Task } from '@a2a-js/sdk';
import { InMemoryTaskStore, type ServerCallContext, type TaskStore } from '@a2a-js/sdk/server';
import { createLogger } from '@ensemble/telemetry';
import { afterEach, describe, expect, it } from 'vitest';

import { type A2AStreamEvent, createA2AClient } from '../client/a2a-client.js';
import { resetAgentBreakers } from '../client/resilience.js';
import { partsText } from '../parts.js';
import { type AgentService, type AgentServiceOptions, createAgentService } from './agent-service.js';
import type { AgentRun } from './executor.js';

/** Counts the SDK's task writes: one per published event, which is what coalescing saves. */
class CountingTaskStore implements TaskStore {
  saves = 0;
  private readonly inner = new InMemoryTaskStore();

  async save(task: Task, context: ServerCallContext): Promise<void> {
    this.saves += 1;
    await this.inner.save(task, context);
  }

  load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    return this.inner.load(taskId, context);
  }

  list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    return this.inner.list(params, context);
  }
}

const started: AgentService[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((service) => service.stop(500)));
  resetAgentBreakers();
});

const silent = createLogger({ service: 'coalescing-test', destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }) });

/** A served agent with a counting task store, and a client for it. */
async function startAgent(executor: AgentRun, options: Partial<AgentServiceOptions> = {}) {
  const store = new CountingTaskStore();
  const service = createAgentService({
    card: { name: 'coalescing-agent', description: 'Streams text', skills: [{ id: 'stream', name: 'Stream', description: 'Streams text' }] },
    executor,
    logger: silent,
    taskStore: store,
    ...options,
  });
  const { url } = await service.start({ host: '127.0.0.1', port: 0 });
  started.push(service);
  const client = await createA2AClient({ url, timeoutMs: 10_000, retry: false });
  return { client, store };
}

async function run(executor: AgentRun, options: Partial<AgentServiceOptions> = {}) {
  const { client, store } = await startAgent(executor, options);
  const events: A2AStreamEvent[] = [];
  for await (const event of client.stream({ text: 'go' })) events.push(event);
  const first = events[0];
  const task = await client.getTask(first?.kind === 'task' ? first.task.id : '');
  return { events, store, task };
}

const TOKENS = Array.from({ length: 400 }, (_, index) => `t${index} `);

/** An LLM-like stream: tokens arrive in bursts with a pause now and then. */
const tokenStream: AgentRun = async function* () {
  for (const [index, token] of TOKENS.entries()) {
    if (index % 100 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    yield token;
  }
};

function describeEvents(events: readonly A2AStreamEvent[]): string[] {
  return events.map((event) => (event.kind === 'artifact' ? `artifact:${event.text}` : event.kind === 'status' ? `status:${event.text ?? ''}` : event.kind));
}

describe('streamed text: every piece on the wire, batched store writes', () => {
  it('streams 400 tokens as 400 events while the durable store is written a handful of times', async () => {
    const batched = await run(tokenStream);
    const writeThrough = await run(tokenStream, { storeWriteBehind: false });
    const eventBatched = await run(tokenStream, { chunkCoalescing: { flushIntervalMs: 50 } });

    const artifactEvents = (events: A2AStreamEvent[]) => events.filter((event) => event.kind === 'artifact');
    const expected = TOKENS.join('');
    for (const outcome of [batched, writeThrough, eventBatched]) {
      expect(artifactEvents(outcome.events).map((event) => event.text).join('')).toBe(expected);
      expect(partsText(outcome.task.artifacts[0]?.parts).replaceAll('\n', '')).toBe(expected);
      expect(artifactEvents(outcome.events).at(-1)).toMatchObject({ lastChunk: true });
    }
    // Clients see every token by default; only the store writes are batched.
    expect(artifactEvents(batched.events)).toHaveLength(TOKENS.length);
    expect(artifactEvents(writeThrough.events)).toHaveLength(TOKENS.length);
    expect(writeThrough.store.saves).toBeGreaterThan(TOKENS.length);
    expect(batched.store.saves).toBeLessThan(writeThrough.store.saves / 20);
    // Opt-in event batching: 400 tokens in bursts of 100 give a handful of events.
    expect(artifactEvents(eventBatched.events).length).toBeLessThanOrEqual(6);
  });

  it('publishes buffered text before a status update, so the order the agent produced is kept', async () => {
    const interleaved: AgentRun = async function* (_input, ctx) {
      yield 'one ';
      yield 'two ';
      ctx.status('halfway');
      yield 'three ';
      ctx.artifactChunk('four', { lastChunk: true });
      return { data: { done: true } };
    };
    const { events, task } = await run(interleaved, { chunkCoalescing: { flushIntervalMs: 10_000 } });
    expect(describeEvents(events)).toEqual([
      'task',
      'status:',
      'artifact:one two ',
      'status:halfway',
      'artifact:three four',
      'artifact:',
      'status:',
    ]);
    const text = events.filter((event) => event.kind === 'artifact' && event.text !== '');
    expect(text.map((event) => (event.kind === 'artifact' ? [event.append, event.lastChunk] : []))).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(partsText(task.artifacts[0]?.parts).replaceAll('\n', '')).toBe('one two three four');
  });

  it('flushes on the interval while the run is still going (a slow stream is not held until the end)', async () => {
    let releaseEnd!: () => void;
    const end = new Promise<void>((resolve) => {
      releaseEnd = resolve;
    });
    const slow: AgentRun = async function* () {
      yield 'early ';
      yield 'text ';
      await end;
      yield 'late';
    };
    const { client } = await startAgent(slow, { chunkCoalescing: { flushIntervalMs: 20 } });
    const events: A2AStreamEvent[] = [];
    for await (const event of client.stream({ text: 'go' })) {
      events.push(event);
      // The first pieces arrive while the run still waits: the timer, not the end, published them.
      if (event.kind === 'artifact') releaseEnd();
    }
    expect(describeEvents(events)).toEqual(['task', 'status:', 'artifact:early ', 'artifact:text late', 'status:']);
  });

  it('keeps the text produced before a cancellation', async () => {
    const hanging: AgentRun = async function* (_input, ctx) {
      yield 'partial ';
      yield 'answer';
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    };
    const { client } = await startAgent(hanging, { chunkCoalescing: { flushIntervalMs: 10_000 } });
    const events: A2AStreamEvent[] = [];
    for await (const event of client.stream({ text: 'go' })) {
      events.push(event);
      if (event.kind === 'status' && events.length === 2) await client.cancelTask(event.taskId);
    }
    expect(describeEvents(events).slice(-2)).toEqual(['artifact:partial answer', 'status:Canceled at the caller’s request.']);
    expect(events.at(-2)).toMatchObject({ lastChunk: true });
  });
});
