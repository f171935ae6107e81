import { once } from 'node:events';
import { Role, TaskState } from '@a2a-js/sdk';
import { approvalMessage, partsData, partsText } from '@ensemble/a2a';
import { type A2AClientOptions, type A2AStreamEvent, agentCircuitState, createA2AClient, fetchAgentCard, resetAgentBreakers } from '@ensemble/a2a/client';
import { InMemorySpanExporter, inSpan, startTelemetry } from '@ensemble/telemetry';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';

import { type ServiceProcess, startService, stopAllServices } from '../../../test/support/processes.js';
import { testRedis } from '../../../test/support/redis.js';
import type { MockAgentBehaviourInput } from './config.js';
import { collectingLogger } from '../../../test/support/logs.js';

/**
 * Mock agents as real processes, talking real HTTP, with tasks in the machine's Redis (under this
 * file's own key prefix): the A2A kit, client and task store end to end.
 */
const redis = testRedis();
const telemetry = startTelemetry({ serviceName: 'mock-agents-int-test', memoryExporter: new InMemorySpanExporter() });

afterEach(() => resetAgentBreakers());
afterAll(async () => {
  await stopAllServices();
  await redis.cleanup();
  await telemetry.shutdown();
});

let counter = 0;
function startMock(options: { preset?: string; config?: Partial<MockAgentBehaviourInput>; env?: Record<string, string> } = {}): Promise<ServiceProcess> {
  counter += 1;
  return startService({
    name: `mock-agent-${counter}`,
    entry: 'apps/mock-agents/src/main.ts',
    env: {
      MOCK_AGENT_PORT: '0',
      MOCK_AGENT_PRESET: options.preset,
      MOCK_AGENT_CONFIG: options.config === undefined ? undefined : JSON.stringify(options.config),
      MOCK_AGENT_TASK_STORE: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      A2A_TASK_TTL_SECONDS: '300',
      ...options.env,
    },
  });
}


const fast: Partial<A2AClientOptions> = { timeoutMs: 10_000, retry: false };

async function collect(events: AsyncIterable<A2AStreamEvent>): Promise<A2AStreamEvent[]> {
  const all: A2AStreamEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

const stateOf = (event: A2AStreamEvent | undefined) => (event?.kind === 'status' || event?.kind === 'task' ? event.state : undefined);

describe('mock agents over real processes', () => {
  let rag: ServiceProcess;
  beforeAll(async () => {
    rag = await startMock({ preset: 'rag' });
  });

  it('serves its card; send and stream return the templated reply, progress and the data artifact', async () => {
    const card = await fetchAgentCard(rag.url);
    expect(card.name).toBe('rag-agent');
    expect(card.skills.map((skill) => skill.id)).toEqual(['document-retrieval']);
    expect(card.supportedInterfaces[0]?.url).toBe(`${rag.url}/a2a/jsonrpc`);

    const client = await createA2AClient({ card, ...fast });
    const task = await client.send({ text: 'travel policy' });
    expect('id' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);

    const events = await collect(client.stream({ text: 'travel policy' }));
    expect(events.filter((event) => event.kind === 'status').map((event) => event.kind === 'status' && event.text)).toEqual([
      '',
      'Searching the document index',
      'Reading the top passages',
      '',
    ]);
    const chunks = events.filter((event) => event.kind === 'artifact' && event.text !== '');
    expect(chunks).toHaveLength(3);
    expect(chunks.map((event) => event.kind === 'artifact' && event.text).join('')).toBe(
      'From the internal documents about "travel policy": the relevant policy (handbook §4.2) applies, as confirmed by two runbooks [1][2].',
    );
    const data = events.find((event) => event.kind === 'artifact' && event.data.length > 0);
    expect(data?.kind === 'artifact' && data.data[0]).toMatchObject({ sources: [{ id: 'doc-handbook' }, { id: 'doc-runbook-7' }] });
    expect(stateOf(events.at(-1))).toBe(TaskState.TASK_STATE_COMPLETED);
    // Every line about the task carries its ids.
    const taskId = events[0]?.kind === 'task' ? events[0].task.id : '';
    await rag.waitForLine((line) => line['msg'] === 'task finished' && line['task_id'] === taskId && typeof line['context_id'] === 'string');
  });

  it('keeps v0.3 clients working: legacy card without A2A-Version, and message/send', async () => {
    const legacyCard = (await (await fetch(`${rag.url}/.well-known/agent-card.json`)).json()) as Record<string, unknown>;
    expect(legacyCard).toMatchObject({ url: `${rag.url}/a2a/jsonrpc`, preferredTransport: 'JSONRPC', protocolVersion: '0.3' });
    const response = await fetch(legacyCard['url'] as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'message/send',
        params: { message: { kind: 'message', messageId: 'legacy-1', role: 'user', parts: [{ kind: 'text', text: 'old client' }] } },
      }),
    });
    const body = (await response.json()) as { result: { kind: string; status: { state: string } } };
    expect(body.result).toMatchObject({ kind: 'task', status: { state: 'completed' } });
  });

  it('fails the first N calls, then succeeds', async () => {
    const flaky = await startMock({ preset: 'search', config: { failure: { mode: 'first-n', count: 1 } } });
    const client = await createA2AClient({ url: flaky.url, ...fast });
    await expect(client.send({ text: 'node release' })).rejects.toMatchObject({ kind: 'task_failed', message: expect.stringContaining('call 1 of the first 1') as string });
    const task = await client.send({ text: 'node release' });
    expect('id' in task && partsData(task.artifacts.at(-1)?.parts)[0]).toMatchObject({ results: [{ title: 'Result one for node release' }, {}, {}] });
    await flaky.stop();
  });
});

describe('tasks in Redis', () => {
  it('survive the agent being killed, and any replica answers GetTask', async () => {
    const first = await startMock({ preset: 'reasoning' });
    const done = await (await createA2AClient({ url: first.url, ...fast })).send({ text: 'compare options' });
    expect('id' in done).toBe(true);
    if (!('id' in done)) return;
    await first.kill();

    const [second, third] = await Promise.all([startMock({ preset: 'reasoning' }), startMock({ preset: 'reasoning' })]);
    for (const replica of [second, third]) {
      const task = await (await createA2AClient({ url: replica.url, ...fast })).getTask(done.id);
      expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(partsText(task.artifacts[0]?.parts)).toBe(partsText(done.artifacts[0]?.parts));
      expect(task.history.map((message) => partsText(message.parts))).toContain('compare options');
    }
    await Promise.all([second.stop(), third.stop()]);
  });

  it('ListTasks names a session’s tasks, newest first, each with the message that started it', async () => {
    const agent = await startMock({ preset: 'reasoning' });
    const client = await createA2AClient({ url: agent.url, ...fast });
    const context = `list-${Date.now()}`;
    const first = await client.send({ text: 'first call', contextId: context, metadata: { 'ensemble.node': 'a' } });
    const second = await client.send({ text: 'second call', contextId: context, metadata: { 'ensemble.node': 'b' } });
    await client.send({ text: 'elsewhere', contextId: `${context}-other` });

    const listed = await client.listTasks(context);
    expect(listed.map((task) => task.id)).toEqual([second, first].map((task) => ('id' in task ? task.id : 'a message')));
    const started = listed.map((task) => task.history.find((message) => message.role === Role.ROLE_USER));
    expect(started.map((message): unknown[] => [partsText(message?.parts), message?.metadata?.['ensemble.node'] as unknown])).toEqual([
      ['second call', 'b'],
      ['first call', 'a'],
    ]);
    await agent.stop();
  });

  it('an approval asked by one replica is answered on another: approve continues, reject ends it rejected', async () => {
    const config = { failure: { mode: 'approval' as const, summary: 'Email the report about {{input}} to all staff.' } };
    const [asking, answering] = await Promise.all([startMock({ preset: 'analysis', config }), startMock({ preset: 'analysis', config })]);
    const askingClient = await createA2AClient({ url: asking.url, ...fast });
    const answeringClient = await createA2AClient({ url: answering.url, ...fast });

    const events = await collect(askingClient.stream({ text: 'Q3 sales' }));
    const waiting = events.at(-1);
    expect(waiting).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_AUTH_REQUIRED });
    if (waiting?.kind !== 'status') return;
    expect(waiting.text).toContain('Approval needed: Email the report about Q3 sales to all staff.');
    expect(waiting.data).toEqual([{ approvalRequest: { key: 'approval', summary: 'Email the report about Q3 sales to all staff.', details: { agent: 'analysis-agent', request: 'Q3 sales' } } }]);

    const resumed = await collect(answeringClient.stream(approvalMessage({ taskId: waiting.taskId, contextId: waiting.contextId, decision: 'approve', comment: 'ship it' })));
    expect(resumed.filter((event) => event.kind === 'status').map((event) => event.kind === 'status' && event.text)).toContain('Approved: ship it; continuing');
    expect(stateOf(resumed.at(-1))).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(resumed.some((event) => event.kind === 'artifact' && event.text.includes('Analysis of "Q3 sales"'))).toBe(true);

    const second = await askingClient.send({ text: 'payroll' });
    expect('id' in second && second.status?.state).toBe(TaskState.TASK_STATE_AUTH_REQUIRED);
    if (!('id' in second)) return;
    await expect(answeringClient.send(approvalMessage({ taskId: second.id, contextId: second.contextId, decision: 'reject', comment: 'not before review' }))).rejects.toMatchObject({
      kind: 'rejected',
      message: 'Agent "analysis-agent": Rejected by the approver: not before review',
    });
    await expect(askingClient.getTask(second.id)).resolves.toMatchObject({ status: { state: TaskState.TASK_STATE_REJECTED } });
    await Promise.all([asking.stop(), answering.stop()]);
  });
});

describe('the operations preset', () => {
  it('asks before acting, with the action, risks and arguments, and acts on the arguments the approver edited', async () => {
    const agent = await startMock({ preset: 'operations' });
    const client = await createA2AClient({ url: agent.url, ...fast });

    const events = await collect(client.stream({ text: 'Restart the payments service in production' }));
    const waiting = events.at(-1);
    expect(waiting).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_AUTH_REQUIRED });
    if (waiting?.kind !== 'status') return;
    expect(waiting.data).toEqual([
      {
        approvalRequest: {
          key: 'approval',
          summary: 'restart the payments service in production',
          details: expect.objectContaining({
            action: 'restart the payments service in production',
            reason: 'The request asks for it: "Restart the payments service in production"',
            risks: expect.arrayContaining([expect.stringContaining('payments')]) as unknown,
            impact: expect.stringContaining('payments') as unknown,
            arguments: { operation: 'restart', service: 'payments', environment: 'production' },
            arguments_schema: expect.objectContaining({ required: ['operation', 'service', 'environment'] }) as unknown,
          }) as unknown,
        },
      },
    ]);

    const edited = { operation: 'restart', service: 'payments', environment: 'staging' };
    const resumed = await collect(client.stream(approvalMessage({ taskId: waiting.taskId, contextId: waiting.contextId, decision: 'approve', arguments: edited })));
    expect(stateOf(resumed.at(-1))).toBe(TaskState.TASK_STATE_COMPLETED);
    const text = resumed.flatMap((event) => (event.kind === 'artifact' ? [event.text] : [])).join('');
    expect(text).toBe('Done: restart of the payments service in staging completed.');
    const task = await client.getTask(waiting.taskId);
    expect(task.artifacts.flatMap((artifact) => partsData(artifact.parts))).toContainEqual({ performed: edited });
    const acted = await agent.waitForLine((line) => line['msg'] === 'acting on the approved arguments');
    expect(acted).toMatchObject({ task_id: waiting.taskId, arguments: edited, decision: 'approve' });
    await agent.stop();
  });
});

describe('failure modes and resilience', () => {
  it('cancels a hanging task', async () => {
    const agent = await startMock({ preset: 'search', config: { failure: { mode: 'hang' } } });
    const client = await createA2AClient({ url: agent.url, ...fast });
    const events: A2AStreamEvent[] = [];
    for await (const event of client.stream({ text: 'forever' })) {
      events.push(event);
      if (event.kind === 'status' && event.text.startsWith('Working')) await client.cancelTask(event.taskId);
    }
    expect(events.at(-1)).toMatchObject({ kind: 'status', state: TaskState.TASK_STATE_CANCELED });
    const taskId = events[0]?.kind === 'task' ? events[0].task.id : '';
    await expect(client.getTask(taskId)).resolves.toMatchObject({ status: { state: TaskState.TASK_STATE_CANCELED } });
    await agent.stop();
  });

  it('retries a send whose agent is down, opens the breaker, and closes it when the agent is back', async () => {
    const agent = await startMock({ preset: 'search' });
    const port = new URL(agent.url).port;
    const { logger, lines } = collectingLogger('int-test-client');
    const client = await createA2AClient({
      url: agent.url,
      logger,
      timeoutMs: 5_000,
      retry: { maxAttempts: 2, initialDelayMs: 10 },
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: 500 },
    });
    await agent.kill();

    await expect(client.send({ text: 'anyone?' })).rejects.toMatchObject({ kind: 'unreachable', notDelivered: true, agent: 'search-agent' });
    expect(lines.filter((line) => line['msg'] === 'retrying A2A call')).toHaveLength(1);
    expect(agentCircuitState(agent.url)).toBe('open');
    await expect(client.getTask('any')).rejects.toMatchObject({ kind: 'circuit_open' });

    const restarted = await startMock({ preset: 'search', env: { MOCK_AGENT_PORT: port } });
    expect(restarted.url).toBe(agent.url);
    // The breaker (cockatiel) half-opens on `Date.now()`: a fake Date moves past its open period.
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    vi.setSystemTime(Date.now() + 500);
    const task = await client.send({ text: 'back?' });
    expect('id' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(agentCircuitState(agent.url)).toBe('closed');
    await restarted.stop();
  });

  it('a crashing agent breaks the stream with a typed error and exits with its code', async () => {
    const agent = await startMock({ preset: 'reasoning', config: { failure: { mode: 'crash', exitCode: 70 } } });
    const client = await createA2AClient({ url: agent.url, ...fast });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of client.stream({ text: 'boom' })) if (event.kind === 'status') seen.push(event.text);
    })().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'unreachable' });
    expect(seen).toContain('About to crash (mock failure mode)');
    if (agent.child.exitCode === null) await once(agent.child, 'exit');
    expect(agent.child.exitCode).toBe(70);
  });

  it('on SIGTERM refuses new tasks, finishes the running one, and exits cleanly', async () => {
    const agent = await startMock({ preset: 'reasoning', config: { delayMs: 1_500 } });
    const client = await createA2AClient({ url: agent.url, ...fast });
    const stream = client.stream({ text: 'slow question' });
    const events: A2AStreamEvent[] = [(await stream.next()).value!];
    const stopping = agent.stop(15_000);
    await agent.waitForLine((line) => line['msg'] === 'draining');
    await expect(client.send({ text: 'new work' })).rejects.toMatchObject({ kind: 'unavailable' });
    for await (const event of stream) events.push(event);
    expect(stateOf(events.at(-1))).toBe(TaskState.TASK_STATE_COMPLETED);
    await stopping;
    expect(agent.child.exitCode).toBe(0);
  });

  it('exits cleanly on a SIGTERM that comes as soon as it listens (the kit builds its card after that line)', async () => {
    const agent = await startMock({ preset: 'reasoning' });
    await agent.stop();
    expect(agent.child.exitCode).toBe(0);
    expect(agent.lines.some((line) => line.includes('"msg":"shutting down"'))).toBe(true);
  });
});

describe('auth and tracing across processes', () => {
  it('requires the token, and one trace spans the caller and the agent', async () => {
    const agent = await startMock({ preset: 'analysis', env: { AGENT_AUTH_TOKENS: 'tok-1,tok-2' } });
    const card = await fetchAgentCard(agent.url);
    expect(Object.keys(card.securitySchemes)).toEqual(['bearer']);
    await expect((await createA2AClient({ card, ...fast })).send({ text: 'no token' })).rejects.toMatchObject({ kind: 'unauthorized' });

    const client = await createA2AClient({ card, token: 'tok-2', ...fast });
    const traceId = await inSpan('orchestrator step', {}, async (span) => {
      const task = await client.send({ text: 'traced' });
      expect('id' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      return span.spanContext().traceId;
    });
    const line = await agent.waitForLine((entry) => entry['msg'] === 'request' && entry['path'] === '/a2a/jsonrpc' && entry['status'] === 200);
    expect(line['trace_id']).toBe(traceId);
    await agent.stop();
  });
});
