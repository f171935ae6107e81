import { Role, TaskState } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutor, InMemoryTaskStore, ServerCallContext } from '@a2a-js/sdk/server';
import { afterEach, describe, expect, it } from 'vitest';

import { approvalMessage } from '../approval.js';
import { type A2AClient, type A2AClientOptions, type A2AStreamEvent, createA2AClient } from '../client/a2a-client.js';
import { A2AClientError } from '../client/errors.js';
import { resetAgentBreakers } from '../client/resilience.js';
import { partsData, partsText, textPart } from '../parts.js';
import { type AgentService, type AgentServiceOptions, clientContextId, createAgentService } from './agent-service.js';
import type { AgentRun } from './executor.js';
import { collectingLogger } from '../../../../test/support/logs.js';

const started: AgentService[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((service) => service.stop(500)));
  resetAgentBreakers();
});


const CARD = {
  name: 'test-agent',
  description: 'An agent for tests',
  skills: [{ id: 'echo', name: 'Echo', description: 'Repeats the input', tags: ['test'], examples: ['say hi'] }],
};

async function startAgent(executor: AgentRun, options: Partial<AgentServiceOptions> = {}) {
  const { logger, lines } = collectingLogger('agent-test');
  const service = createAgentService({ card: CARD, executor, logger, ...options });
  const running = await service.start({ host: '127.0.0.1', port: 0 });
  started.push(service);
  return { service, url: running.url, lines };
}

async function clientFor(url: string, options: Partial<A2AClientOptions> = {}): Promise<A2AClient> {
  return createA2AClient({ url, timeoutMs: 5_000, retry: false, ...options });
}

async function collect(events: AsyncIterable<A2AStreamEvent>): Promise<A2AStreamEvent[]> {
  const all: A2AStreamEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

function rpc(url: string, body: unknown, headers: Record<string, string> = { 'A2A-Version': '1.0' }) {
  return fetch(`${url}/a2a/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

const echo: AgentRun = async function* (input, ctx) {
  ctx.status('thinking');
  yield 'you said: ';
  yield input.text;
  return { data: { length: input.text.length } };
};

/** A run that waits until the test releases it (or the task is canceled). */
function gated() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const seen: { aborted: boolean } = { aborted: false };
  const run: AgentRun = async function* (_input, ctx) {
    ctx.status('waiting for the gate');
    await Promise.race([
      gate,
      new Promise<void>((resolve) =>
        ctx.signal.addEventListener('abort', () => {
          seen.aborted = true;
          resolve();
        }),
      ),
    ]);
    yield 'released';
  };
  return { run, release, seen };
}

describe('createAgentService: card and transports', () => {
  it('serves the v1.0 card at the bound URL, and the v0.3 card to callers without A2A-Version', async () => {
    const { url } = await startAgent(echo);
    const v1 = await fetch(`${url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } });
    expect(v1.status).toBe(200);
    expect(v1.headers.get('vary')).toContain('A2A-Version');
    const card = (await v1.json()) as { supportedInterfaces: { url: string; protocolBinding: string; protocolVersion: string }[]; skills: unknown[] };
    expect(card.supportedInterfaces.slice(0, 2)).toEqual([
      { url: `${url}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: `${url}/a2a/rest`, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
    ]);
    expect(card.skills).toEqual([{ id: 'echo', name: 'Echo', description: 'Repeats the input', tags: ['test'], examples: ['say hi'] }]);

    const legacy = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as Record<string, unknown>;
    expect(legacy).toMatchObject({ url: `${url}/a2a/jsonrpc`, preferredTransport: 'JSONRPC', protocolVersion: '0.3', name: 'test-agent' });
    expect(legacy['additionalInterfaces']).toEqual([{ url: `${url}/a2a/jsonrpc`, transport: 'JSONRPC' }]);
    expect(legacy['supportedInterfaces']).toEqual(card.supportedInterfaces);
  });

  it('runs a task over JSON-RPC: streamed chunks in one artifact, the last one marked, then completed', async () => {
    const { url } = await startAgent(echo);
    const client = await clientFor(url);
    const events = await collect(client.stream({ text: 'hello' }));
    expect(events.map((event) => (event.kind === 'status' || event.kind === 'task' ? `${event.kind}:${TaskState[event.state]}` : event.kind))).toEqual([
      'task:TASK_STATE_SUBMITTED',
      'status:TASK_STATE_WORKING',
      'status:TASK_STATE_WORKING',
      'artifact',
      'artifact',
      'artifact',
      'status:TASK_STATE_COMPLETED',
    ]);
    const artifacts = events.filter((event) => event.kind === 'artifact');
    expect(artifacts.map((event) => [event.text, event.append, event.lastChunk])).toEqual([
      ['you said: ', false, false],
      ['hello', true, true],
      ['', false, true], // the data artifact
    ]);
    expect(artifacts[2]?.data).toEqual([{ length: 5 }]);
    expect(events[2]).toMatchObject({ kind: 'status', text: 'thinking' });

    const opening = events[0];
    const task = await client.getTask(opening?.kind === 'task' ? opening.task.id : '');
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(partsText(task.artifacts[0]?.parts).replace('\n', '')).toBe('you said: hello');
  });

  it('answers over HTTP+JSON with application/a2a+json, and the SDK client can use that binding', async () => {
    const { url, service } = await startAgent(echo);
    const response = await fetch(`${url}/a2a/rest/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
      body: JSON.stringify({ message: { messageId: 'm-rest', role: 'ROLE_USER', parts: [{ text: 'via rest' }] } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/a2a+json');
    const body = (await response.json()) as { task: { id: string; status: { state: string } } };
    expect(body.task.status.state).toBe('TASK_STATE_COMPLETED');

    const get = await fetch(`${url}/a2a/rest/tasks/${body.task.id}`, { headers: { 'A2A-Version': '1.0' } });
    expect(((await get.json()) as { id: string }).id).toBe(body.task.id);
    const missing = await fetch(`${url}/a2a/rest/tasks/nope`, { headers: { 'A2A-Version': '1.0' } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });

    const listed = await fetch(`${url}/a2a/rest/tasks?pageSize=1`, { headers: { 'A2A-Version': '1.0' } });
    expect(((await listed.json()) as { tasks: unknown[]; totalSize: number }).tasks).toHaveLength(1);
    const badPage = await fetch(`${url}/a2a/rest/tasks?pageSize=500`, { headers: { 'A2A-Version': '1.0' } });
    expect(badPage.status).toBe(400);

    // A tenant in the path scopes the task: visible under that tenant only.
    const tenantSend = await fetch(`${url}/a2a/rest/acme/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/a2a+json', 'A2A-Version': '1.0' },
      body: JSON.stringify({ message: { messageId: 'm-tenant', role: 'ROLE_USER', parts: [{ text: 'tenant' }] } }),
    });
    const tenantTask = ((await tenantSend.json()) as { task: { id: string } }).task;
    expect((await fetch(`${url}/a2a/rest/acme/tasks/${tenantTask.id}`, { headers: { 'A2A-Version': '1.0' } })).status).toBe(200);
    expect((await fetch(`${url}/a2a/rest/tasks/${tenantTask.id}`, { headers: { 'A2A-Version': '1.0' } })).status).toBe(404);
    expect((await fetch(`${url}/a2a/rest/nowhere/at/all`, { headers: { 'A2A-Version': '1.0' } })).status).toBe(404);

    const restOnly = { ...service.card!, supportedInterfaces: service.card!.supportedInterfaces.filter((entry) => entry.protocolBinding === 'HTTP+JSON') };
    const client = await createA2AClient({ card: restOnly, retry: false });
    const task = await client.send({ text: 'rest client' });
    expect('id' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const streamed = await collect(client.stream({ text: 'rest stream' }));
    expect(streamed.at(-1)).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_COMPLETED });
  });

  it('turns bad input into JSON-RPC errors with the right codes, never a 500', async () => {
    const { url } = await startAgent(echo);
    const parse = await rpc(url, '{not json');
    expect(parse.status).toBe(200);
    expect(await parse.json()).toMatchObject({ id: null, error: { code: -32700 } });
    const method = await rpc(url, { jsonrpc: '2.0', id: 7, method: 'NoSuchMethod', params: {} });
    expect(await method.json()).toMatchObject({ id: 7, error: { code: -32601 } });
    const envelope = await rpc(url, { id: 8, method: 'SendMessage' });
    expect(await envelope.json()).toMatchObject({ id: 8, error: { code: -32600 } });
    const notFound = await rpc(url, { jsonrpc: '2.0', id: 9, method: 'GetTask', params: { id: 'missing' } });
    expect(await notFound.json()).toMatchObject({ id: 9, error: { code: -32001 } });
    const version = await rpc(url, { jsonrpc: '2.0', id: 10, method: 'GetTask', params: { id: 'x' } }, { 'A2A-Version': '9.9' });
    expect(await version.json()).toMatchObject({ id: 10, error: { code: -32009 } });
    const contentType = await fetch(`${url}/a2a/jsonrpc`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(contentType.status).toBe(200);
    expect(await contentType.json()).toMatchObject({ error: { code: -32005 } });
  });

  it('keeps v0.3 clients working: message/send without A2A-Version returns a v0.3 task', async () => {
    const { url } = await startAgent(echo);
    const response = await rpc(
      url,
      { jsonrpc: '2.0', id: 'old-1', method: 'message/send', params: { message: { kind: 'message', messageId: 'old-m', role: 'user', parts: [{ kind: 'text', text: 'old client' }] } } },
      {},
    );
    const body = (await response.json()) as { result: { kind: string; status: { state: string }; artifacts: { parts: { kind: string; text?: string }[] }[] } };
    expect(body.result.kind).toBe('task');
    expect(body.result.status.state).toBe('completed');
    expect(body.result.artifacts[0]?.parts).toEqual([
      { kind: 'text', text: 'you said: ' },
      { kind: 'text', text: 'old client' },
    ]);
  });
});

describe('createAgentService: task outcomes', () => {
  it('fails a task whose run throws, without leaking the error message', async () => {
    const { url, lines } = await startAgent(async () => {
      throw new Error('password=hunter2 in connection string');
    });
    const client = await clientFor(url);
    const error = await client.send({ text: 'x' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(A2AClientError);
    expect((error as A2AClientError).kind).toBe('task_failed');
    expect((error as A2AClientError).message).toContain('failed unexpectedly');
    expect((error as A2AClientError).message).not.toContain('hunter2');
    expect(partsData((error as A2AClientError).task?.status?.message?.parts)).toEqual([{ error: { code: 'internal', message: expect.any(String) as string } }]);
    const logged = lines.find((line) => line['msg'] === 'agent run threw');
    expect(logged?.['task_id']).toBe((error as A2AClientError).task?.id);
    expect(logged?.['context_id']).toBe((error as A2AClientError).task?.contextId);
  });

  it('ends a task as rejected or failed with the reason the run gave', async () => {
    const { url } = await startAgent(async (input, ctx) => (input.text === 'reject' ? ctx.reject('not my job') : ctx.fail('upstream exploded', 'upstream_error')));
    const client = await clientFor(url);
    await expect(client.send({ text: 'reject' })).rejects.toMatchObject({ kind: 'rejected', message: 'Agent "test-agent": not my job' });
    await expect(client.send({ text: 'fail' })).rejects.toMatchObject({ kind: 'task_failed', message: 'Agent "test-agent": upstream exploded' });
  });

  it('puts the data a run rejects with in the rejected status message', async () => {
    const { url } = await startAgent(async (_input, ctx) => ctx.reject('the approver said no', { error: { code: 'approval_rejected', message: 'the approver said no' } }));
    const error = await (await clientFor(url)).send({ text: 'deploy' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'rejected' });
    const message = (error as A2AClientError).task?.status?.message;
    expect(partsText(message?.parts ?? [])).toBe('the approver said no');
    expect(partsData(message?.parts ?? [])).toEqual([{ error: { code: 'approval_rejected', message: 'the approver said no' } }]);
  });

  it('tells an executor the contextId the client sent, which the SDK replaces when empty', async () => {
    const seen: { sent: string | undefined; context: string }[] = [];
    const executor: AgentExecutor = {
      execute: async (context, bus) => {
        seen.push({ sent: clientContextId(context), context: context.contextId });
        bus.publish(AgentEvent.message({ messageId: `reply-${seen.length}`, role: Role.ROLE_AGENT, parts: [textPart('ok')], contextId: context.contextId, taskId: '', metadata: {}, extensions: [], referenceTaskIds: [] }));
        bus.finished();
      },
      cancelTask: async () => undefined,
    };
    const { url } = await startAgent(async () => undefined, { executor });
    const send = (message: Record<string, unknown>, method = 'SendMessage') =>
      rpc(url, { jsonrpc: '2.0', id: 1, method, params: { message: { messageId: `m-${seen.length}`, role: 'ROLE_USER', parts: [{ text: 'hi' }], ...message } } });
    expect((await send({ contextId: 'client-chosen' })).status).toBe(200);
    expect((await send({})).status).toBe(200);
    expect(await (await send({ contextId: 'streamed' }, 'SendStreamingMessage')).text()).toContain('ok');
    expect(seen[0]).toEqual({ sent: 'client-chosen', context: 'client-chosen' });
    expect(seen[1]?.sent).toBeUndefined();
    expect(seen[1]?.context).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[2]).toEqual({ sent: 'streamed', context: 'streamed' });
  });

  it('cancels a running task: the run sees its signal aborted and the stream ends canceled', async () => {
    const { run, seen } = gated();
    const { url } = await startAgent(run);
    const client = await clientFor(url);
    const events: A2AStreamEvent[] = [];
    for await (const event of client.stream({ text: 'long job' })) {
      events.push(event);
      if (event.kind === 'status' && event.text === 'waiting for the gate') {
        const canceled = await client.cancelTask(event.taskId);
        expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
      }
    }
    expect(events.at(-1)).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_CANCELED, text: 'Canceled at the caller’s request.' });
    expect(seen.aborted).toBe(true);
    const opening = events[0];
    const taskId = opening?.kind === 'task' ? opening.task.id : '';
    // Canceling it again is refused like any other final state (A2A §3.1.5), not silently accepted.
    await expect(client.cancelTask(taskId)).rejects.toMatchObject({ kind: 'task_not_cancelable', rpcCode: -32002 });
    await expect(client.getTask('unknown-task')).rejects.toMatchObject({ kind: 'task_not_found' });
  });
});

describe('createAgentService: processed()', () => {
  it('resolves once the task store has saved what the run published, not before', async () => {
    // The store holds the save of the run's checkpoint status until the test opens the gate.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let entered!: () => void;
    const held = new Promise<void>((resolve) => (entered = resolve));
    const inner = new InMemoryTaskStore();
    const taskStore = Object.assign(Object.create(inner) as InMemoryTaskStore, {
      save: async (task: Parameters<InMemoryTaskStore['save']>[0], context: ServerCallContext) => {
        if (task.status?.message !== undefined && partsText(task.status.message.parts) === 'checkpoint') {
          entered();
          await gate;
        }
        return inner.save(task, context);
      },
    });
    const marks: string[] = [];
    const { url } = await startAgent(
      async (_input, ctx) => {
        ctx.status('checkpoint');
        await ctx.processed();
        marks.push('processed');
        return 'done';
      },
      { taskStore, storeWriteBehind: false },
    );
    const client = await clientFor(url);
    const events = collect(client.stream({ text: 'go' }));
    await held;
    // The save is still held: several turns of the event loop later, the run is still waiting.
    for (let turn = 0; turn < 5; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(marks).toEqual([]);
    open();
    const seen = await events;
    expect(marks).toEqual(['processed']);
    expect(seen.map((event) => (event.kind === 'status' ? event.text : event.kind))).toContain('checkpoint');
    expect(seen.at(-1)).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_COMPLETED });
  });
});

describe('createAgentService: approval', () => {
  const risky: AgentRun = async function* (input, ctx) {
    const answer = await ctx.requireApproval({ summary: `Delete ${input.text}.`, details: { files: [input.text] } });
    if (answer.decision === 'reject') ctx.reject(`Not deleted: ${answer.comment ?? 'rejected'}`);
    yield `deleted ${input.text}${answer.comment === undefined ? '' : ` (${answer.comment})`}`;
  };

  it('puts the task in auth-required with what needs approval, then continues on approve', async () => {
    const { url } = await startAgent(risky);
    const client = await clientFor(url);
    const waiting = await client.send({ text: 'report.pdf' });
    expect('id' in waiting).toBe(true);
    if (!('id' in waiting)) return;
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_AUTH_REQUIRED);
    expect(partsText(waiting.status?.message?.parts)).toContain('Approval needed: Delete report.pdf.');
    expect(partsData(waiting.status?.message?.parts)).toEqual([{ approvalRequest: { key: 'approval', summary: 'Delete report.pdf.', details: { files: ['report.pdf'] } } }]);

    const confused = await client.send({ text: 'what?', taskId: waiting.id, contextId: waiting.contextId });
    expect('id' in confused && confused.status?.state).toBe(TaskState.TASK_STATE_AUTH_REQUIRED);
    expect('id' in confused && partsText(confused.status?.message?.parts)).toContain('That was not an approval decision.');

    const events = await collect(client.stream(approvalMessage({ taskId: waiting.id, contextId: waiting.contextId, decision: 'approve', comment: 'go ahead' })));
    expect(events.at(-1)).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_COMPLETED });
    expect(events.find((event) => event.kind === 'artifact')).toMatchObject({ text: 'deleted report.pdf (go ahead)' });
  });

  it('takes a follow-up that names only the taskId in the task\'s own context (CORE-MULTI-005)', async () => {
    const { url } = await startAgent(risky);
    const waiting = await (await clientFor(url)).send({ text: 'report.pdf' });
    if (!('id' in waiting)) throw new Error('expected a task');
    const followUp = await rpc(url, {
      jsonrpc: '2.0',
      id: 'follow-up',
      method: 'SendMessage',
      params: { message: { messageId: 'm-follow-up', role: 'ROLE_USER', taskId: waiting.id, parts: [{ text: 'what?' }] } },
    });
    const body = (await followUp.json()) as { result?: { task?: { id: string; contextId: string } } };
    expect(body.result?.task).toMatchObject({ id: waiting.id, contextId: waiting.contextId });
  });

  it('accepts a plain-text "reject" and ends the task rejected', async () => {
    const { url } = await startAgent(risky);
    const client = await clientFor(url);
    const events = await collect(client.stream({ text: 'db.sqlite' }));
    const waiting = events.at(-1);
    expect(waiting).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_AUTH_REQUIRED, final: true });
    if (waiting?.kind !== 'status') return;
    await expect(client.send({ text: 'reject: too risky', taskId: waiting.taskId, contextId: waiting.contextId })).rejects.toMatchObject({
      kind: 'rejected',
      message: 'Agent "test-agent": Not deleted: too risky',
    });
  });
});

describe('createAgentService: A2A routes', () => {
  const json = (body: unknown) => JSON.stringify(body);

  it('serves every A2A route with a trailing slash too (the A2A TCK posts to the card URL plus "/")', async () => {
    const { url } = await startAgent(echo);
    const sent = await fetch(`${url}/a2a/jsonrpc/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
      body: json({ jsonrpc: '2.0', id: 'slash', method: 'SendMessage', params: { message: { messageId: 'm-slash', role: 'ROLE_USER', parts: [{ text: 'hi' }] } } }),
    });
    expect(sent.status).toBe(200);
    const body = (await sent.json()) as { id: string; result: { task: { id: string; status: { state: string } } } };
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 'slash', result: { task: { status: { state: 'TASK_STATE_COMPLETED' } } } });
    const taskId = body.result.task.id;
    // The v0.3 layer (no A2A-Version) and streaming answer on the slashed path as well.
    const v03 = await fetch(`${url}/a2a/jsonrpc/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json({ jsonrpc: '2.0', id: 3, method: 'tasks/get', params: { id: taskId } }) });
    expect(await v03.json()).toMatchObject({ id: 3, result: { kind: 'task', id: taskId } });
    const stream = await fetch(`${url}/a2a/jsonrpc/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'A2A-Version': '1.0', accept: 'text/event-stream' },
      body: json({ jsonrpc: '2.0', id: 4, method: 'SendStreamingMessage', params: { message: { messageId: 'm-slash-stream', role: 'ROLE_USER', parts: [{ text: 'hi' }] } } }),
    });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await stream.text()).toContain('TASK_STATE_COMPLETED');
    const rest = await fetch(`${url}/a2a/rest/tasks/${taskId}/`, { headers: { 'A2A-Version': '1.0' } });
    expect(rest.status).toBe(200);
    expect(await rest.json()).toMatchObject({ id: taskId });
  });

  it('answers every error on the JSON-RPC side as a JSON-RPC error object, never the OpenAI shape', async () => {
    const { url } = await startAgent(echo, { maxBodyBytes: 1024 });
    const expectRpcError = async (response: Response, status: number, code: number) => {
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code, message: expect.any(String) as string } });
      expect(Number.isInteger((body['error'] as { code: unknown }).code)).toBe(true);
      expect(JSON.stringify(body)).not.toMatch(/"type"|"param"|not_found/);
    };
    for (const path of ['/a2a/jsonrpc', '/a2a/jsonrpc/']) {
      const get = await fetch(`${url}${path}`);
      expect(get.headers.get('allow')).toBe('POST');
      await expectRpcError(get, 405, -32600);
      await expectRpcError(await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json({ big: 'x'.repeat(2048) }) }), 413, -32600);
    }
    // A body of unknown length (chunked) is counted as it arrives, and refused in the same format.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(json({ big: 'x'.repeat(4096) })));
        controller.close();
      },
    });
    await expectRpcError(await fetch(`${url}/a2a/jsonrpc/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunked, duplex: 'half' }), 413, -32600);
    await expectRpcError(await fetch(`${url}/a2a/jsonrpc/extra`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 404, -32601);
    await expectRpcError(await fetch(`${url}/a2a/jsonrpc//`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 404, -32601);
    await expectRpcError(await fetch(`${url}/a2a`), 404, -32601);
    await expectRpcError(await fetch(`${url}/a2a/grpc`, { method: 'POST', body: 'x' }), 404, -32601);
    // Malformed JSON and a wrong content type on the slashed path keep their codes (and HTTP 200).
    const parse = await fetch(`${url}/a2a/jsonrpc/`, { method: 'POST', headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' }, body: '{"jsonrpc": "2.0", "method"' });
    expect(parse.status).toBe(200);
    expect(await parse.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    const contentType = await fetch(`${url}/a2a/jsonrpc/`, { method: 'POST', headers: { 'content-type': 'text/plain', 'A2A-Version': '1.0' }, body: json({ jsonrpc: '2.0', id: 5, method: 'GetTask', params: { id: 'x' } }) });
    expect(await contentType.json()).toMatchObject({ jsonrpc: '2.0', id: 5, error: { code: -32005 } });
    // Outside the A2A routes the service keeps the OpenAI error object.
    const outside = await fetch(`${url}/nope`);
    expect(outside.status).toBe(404);
    expect(await outside.json()).toMatchObject({ error: { type: expect.any(String) as string, code: 'not_found' } });
  });

  it('answers every error on the HTTP+JSON side as an AIP-193 error', async () => {
    const { url } = await startAgent(echo, { maxBodyBytes: 1024 });
    const expectAip193 = async (response: Response, status: number, statusName: string) => {
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/a2a\+json/);
      const body = (await response.json()) as { error: Record<string, unknown> };
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toMatchObject({ code: status, status: statusName, message: expect.any(String) as string });
      expect(Array.isArray(body.error['details'])).toBe(true);
    };
    const headers = { 'content-type': 'application/json', 'A2A-Version': '1.0' };
    await expectAip193(await fetch(`${url}/a2a/rest/message:send`, { method: 'POST', headers, body: json({ big: 'x'.repeat(2048) }) }), 413, 'INVALID_ARGUMENT');
    await expectAip193(await fetch(`${url}/a2a/rest/message:send/`, { method: 'POST', headers, body: json({ big: 'x'.repeat(2048) }) }), 413, 'INVALID_ARGUMENT');
    await expectAip193(await fetch(`${url}/a2a/rest/nothing-here`, { headers }), 404, 'NOT_FOUND');
    await expectAip193(await fetch(`${url}/a2a/rest`, { method: 'DELETE', headers }), 404, 'NOT_FOUND');
    await expectAip193(await fetch(`${url}/a2a/rest/message:send`, { method: 'GET', headers }), 404, 'NOT_FOUND');
    await expectAip193(await fetch(`${url}/a2a/rest/message:send/`, { method: 'POST', headers, body: '{"message":' }), 400, 'INVALID_ARGUMENT');
  });
});

describe('createAgentService: auth and shutdown', () => {
  it('requires the bearer token on A2A endpoints only, declares it in the card, and answers in each format', async () => {
    const { url } = await startAgent(echo, { auth: { tokens: ['s3cret'] } });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const card = (await (await fetch(`${url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })).json()) as Record<string, unknown>;
    expect(card['securitySchemes']).toEqual({ bearer: { httpAuthSecurityScheme: { description: expect.any(String) as string, scheme: 'Bearer' } } });
    // ProtoJSON drops the empty scope list: `{ bearer: {} }` is `bearer` with no scopes.
    expect(card['securityRequirements']).toEqual([{ schemes: { bearer: {} } }]);

    const rpcRefused = await rpc(url, { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } });
    expect(rpcRefused.status).toBe(401);
    expect(rpcRefused.headers.get('www-authenticate')).toBe('Bearer');
    expect(await rpcRefused.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
    const restRefused = await fetch(`${url}/a2a/rest/tasks/x`, { headers: { authorization: 'Bearer wrong' } });
    expect(restRefused.status).toBe(401);
    expect(await restRefused.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    // The same gate, in the same formats, on the slashed paths.
    for (const authorization of [undefined, 'Bearer wrong']) {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'A2A-Version': '1.0', ...(authorization === undefined ? {} : { authorization }) };
      const slashed = await fetch(`${url}/a2a/jsonrpc/`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } }) });
      expect(slashed.status).toBe(401);
      expect(slashed.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await slashed.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
      const restSlashed = await fetch(`${url}/a2a/rest/tasks/x/`, { headers });
      expect(restSlashed.status).toBe(401);
      expect(restSlashed.headers.get('content-type')).toMatch(/^application\/a2a\+json/);
      expect(await restSlashed.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    }
    const allowed = await fetch(`${url}/a2a/jsonrpc/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'A2A-Version': '1.0', authorization: 'Bearer s3cret' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } }),
    });
    expect(await allowed.json()).toMatchObject({ id: 1, error: { code: -32001 } });

    await expect((await clientFor(url, { token: 'wrong' })).send({ text: 'hi' })).rejects.toMatchObject({ kind: 'unauthorized' });
    const task = await (await clientFor(url, { token: 's3cret' })).send({ text: 'hi' });
    expect('id' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  });

  it('drains on stop: refuses new tasks with 503 while a running one finishes', async () => {
    const { run, release } = gated();
    const { url, service } = await startAgent(run);
    const client = await clientFor(url);
    const stream = client.stream({ text: 'slow' });
    const first = await stream.next();
    expect(first.value).toMatchObject({ kind: 'task' });
    const stopping = service.stop(10_000);
    expect((await fetch(`${url}/health`)).status).toBe(503);
    await expect(client.send({ text: 'too late' })).rejects.toMatchObject({ kind: 'unavailable', notDelivered: true });
    release();
    const rest: A2AStreamEvent[] = [];
    for await (const event of stream) rest.push(event);
    expect(rest.at(-1)).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_COMPLETED });
    await stopping;
  });

  it('cancels what is still running when the grace period ends, saying why, and stores that', async () => {
    const { run, seen } = gated();
    const store = new InMemoryTaskStore();
    const { url, service } = await startAgent(run, { taskStore: store });
    const client = await clientFor(url);
    const stream = client.stream({ text: 'never ends' });
    const first = await stream.next();
    const taskId = first.value?.kind === 'task' ? first.value.task.id : '';
    const events: A2AStreamEvent[] = [];
    const reading = (async () => {
      for await (const event of stream) events.push(event);
    })();
    await service.stop(100);
    await reading;
    expect(seen.aborted).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_CANCELED });
    expect(events.at(-1)?.kind === 'status' && events.at(-1)).toMatchObject({ text: expect.stringContaining('shut down before the task finished') as string });
    const stored = await store.load(taskId, new ServerCallContext());
    expect(stored?.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });
});
