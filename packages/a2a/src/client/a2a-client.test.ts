import { Writable } from 'node:stream';

import { freePort } from '../../../../test/support/ports.js';

import { TaskState } from '@a2a-js/sdk';
import { createLogger } from '@ensemble/telemetry';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';

import { buildAgentCard } from '../card.js';
import { type AgentService, createAgentService } from '../server/agent-service.js';
import type { AgentRun } from '../server/executor.js';
import { createA2AClient, fetchAgentCard } from './a2a-client.js';
import { A2AClientError } from './errors.js';
import { agentCircuitState, resetAgentBreakers } from './resilience.js';

const logger = createLogger({ service: 'client-test', level: 'silent' });
const services: AgentService[] = [];

beforeEach(() => resetAgentBreakers());
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.stop(100)));
});

const CARD = { name: 'client-test-agent', description: 'for client tests', skills: [{ id: 'echo', name: 'Echo', description: 'echo' }] };

async function startAgent(run: AgentRun, port = 0): Promise<{ url: string; service: AgentService }> {
  const service = createAgentService({ card: CARD, executor: run, logger });
  const running = await service.start({ host: '127.0.0.1', port });
  services.push(service);
  return { url: running.url, service };
}

const echo: AgentRun = async (input) => `echo: ${input.text}`;

/** A `fetch` that fails the first `failures` calls with a network error of the given code, then passes through. */
function flakyFetch(failures: number, code: string) {
  const calls: string[] = [];
  const impl: typeof fetch = async (input, init) => {
    calls.push(String(input instanceof Request ? input.url : input));
    if (calls.length <= failures) throw new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
    return fetch(input, init);
  };
  return { impl, calls };
}

describe('createA2AClient: retries only where safe', () => {
  it('retries a send whose connection was refused (the agent never saw it), once per failure', async () => {
    const { url, service } = await startAgent(echo);
    const flaky = flakyFetch(2, 'ECONNREFUSED');
    const client = await createA2AClient({ card: service.card!, fetch: flaky.impl, retry: { maxAttempts: 3, initialDelayMs: 5 }, breaker: false });
    const task = await client.send({ text: 'hi' });
    expect('id' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(flaky.calls).toEqual([`${url}/a2a/jsonrpc`, `${url}/a2a/jsonrpc`, `${url}/a2a/jsonrpc`]);
  });

  it('does not retry a send whose connection broke after it was written', async () => {
    const { service } = await startAgent(echo);
    const flaky = flakyFetch(1, 'ECONNRESET');
    const client = await createA2AClient({ card: service.card!, fetch: flaky.impl, retry: { maxAttempts: 3, initialDelayMs: 5 }, breaker: false });
    await expect(client.send({ text: 'hi' })).rejects.toMatchObject({ kind: 'unreachable', notDelivered: false, agent: 'client-test-agent' });
    expect(flaky.calls).toHaveLength(1);
  });

  it('retries GetTask and card fetches on any transient failure', async () => {
    const { url, service } = await startAgent(echo);
    const task = await (await createA2AClient({ card: service.card!, retry: false })).send({ text: 'x' });
    const flaky = flakyFetch(2, 'ECONNRESET');
    const client = await createA2AClient({ card: service.card!, fetch: flaky.impl, retry: { maxAttempts: 3, initialDelayMs: 5 }, breaker: false });
    expect('id' in task).toBe(true);
    await expect(client.getTask('id' in task ? task.id : '')).resolves.toMatchObject({ status: { state: TaskState.TASK_STATE_COMPLETED } });
    expect(flaky.calls).toHaveLength(3);

    const cardFetch = flakyFetch(1, 'ECONNRESET');
    const card = await fetchAgentCard(url, { fetch: cardFetch.impl, retry: { initialDelayMs: 5 }, breaker: false });
    expect(card.name).toBe('client-test-agent');
    expect(cardFetch.calls).toEqual([`${url}/.well-known/agent-card.json`, `${url}/.well-known/agent-card.json`]);
  });

  it('gives up after maxAttempts with a typed error naming the agent', async () => {
    const port = await freePort();
    const card = buildAgentCard(CARD, { baseUrl: `http://127.0.0.1:${port}`, bearerAuth: false, legacyCompat: false });
    const counting = flakyFetch(0, '');
    const client = await createA2AClient({ card, fetch: counting.impl, retry: { maxAttempts: 3, initialDelayMs: 5 }, breaker: false });
    const error = await client.send({ text: 'hi' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(A2AClientError);
    expect(error).toMatchObject({ kind: 'unreachable', notDelivered: true, agent: 'client-test-agent', code: 'upstream_unavailable', wireCode: 'a2a_unreachable' });
    expect((error as A2AClientError).message).toContain('ECONNREFUSED');
    expect(counting.calls).toHaveLength(3);
  });
});

describe('createA2AClient: errors never carry the agent’s address', () => {
  /** A logger whose JSON lines are kept, to check that the address goes there instead. */
  function collecting() {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    });
    return { lines, logger: createLogger({ service: 'client-test', level: 'debug', destination }) };
  }

  it('names the agent and the kind of failure; the URL is in the log line and on the error, not in its message', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const card = buildAgentCard(CARD, { baseUrl: url, bearerAuth: false, legacyCompat: false });
    const log = collecting();
    const client = await createA2AClient({ card, retry: false, breaker: false, logger: log.logger });
    const error = (await client.send({ text: 'hi' }).catch((caught: unknown) => caught)) as A2AClientError;
    expect(error.message).toBe('Agent "client-test-agent": cannot connect (ECONNREFUSED)');
    expect(error.message).not.toContain('127.0.0.1');
    expect(error.url).toContain(url);
    const logged = log.lines.find((line) => line['msg'] === 'A2A call failed');
    expect(logged).toMatchObject({ agent: 'client-test-agent', kind: 'unreachable' });
    expect(String(logged?.['url'])).toContain(url);

    // Before the card is known (a card fetch), the agent is not named after its host either.
    const cardError = (await fetchAgentCard(url, { retry: false, breaker: false }).catch((caught: unknown) => caught)) as A2AClientError;
    expect(cardError.message).not.toContain(`127.0.0.1`);
    expect(cardError.message).not.toContain(String(port));
    const named = (await fetchAgentCard(url, { name: 'orchestrator', retry: false, breaker: false }).catch((caught: unknown) => caught)) as A2AClientError;
    expect(named.message).toBe('Agent "orchestrator": cannot connect (ECONNREFUSED)');
  });

  it('withholds URLs from messages that come from elsewhere (the SDK, fetch)', () => {
    const error = new A2AClientError('protocol', 'Failed to fetch https://agents.internal.example:8443/a2a/jsonrpc?x=1 (HTTP 500)', { agent: 'search', url: 'https://agents.internal.example:8443' });
    expect(error.message).toBe('Agent "search": Failed to fetch <address withheld> (HTTP 500)');
    expect(error.details).toMatchObject({ url: 'https://agents.internal.example:8443' });
  });

  it('withholds bare addresses too: an agent failure reason from a socket or database error', () => {
    const target = { agent: 'rag-agent', url: 'http://10.0.0.9:8004' };
    const reasons = {
      'Vector store query failed: connect ECONNREFUSED 10.0.0.5:5432': 'Vector store query failed: connect ECONNREFUSED <address withheld>',
      'connect ECONNREFUSED 127.0.0.1': 'connect ECONNREFUSED <address withheld>',
      'Redis at [::1]:6379 closed the connection': 'Redis at <address withheld> closed the connection',
      'no answer from db.internal:5432 or localhost:6379': 'no answer from <address withheld> or <address withheld>',
      'getaddrinfo ENOTFOUND db.internal': 'getaddrinfo ENOTFOUND <address withheld>',
      'getaddrinfo EAI_AGAIN redis-primary, retrying': 'getaddrinfo EAI_AGAIN <address withheld>, retrying',
      'Step 2 of 8: version 1.2 of the plan, 3 tools (10:30)': 'Step 2 of 8: version 1.2 of the plan, 3 tools (10:30)',
    };
    for (const [reason, shown] of Object.entries(reasons)) {
      expect(new A2AClientError('task_failed', reason, target).message).toBe(`Agent "rag-agent": ${shown}`);
    }
  });
});

describe('createA2AClient: circuit breaker per agent', () => {
  it('opens after consecutive failures, fails fast without calling, and closes again once the agent answers', async () => {
    const port = await freePort();
    const card = buildAgentCard(CARD, { baseUrl: `http://127.0.0.1:${port}`, bearerAuth: false, legacyCompat: false });
    const counting = flakyFetch(0, '');
    const options = { card, fetch: counting.impl, retry: false as const, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 150 } };
    // The breaker (cockatiel) reads `Date.now()`: a fake clock moves it past the open period, no waiting.
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const first = await createA2AClient(options);
    const second = await createA2AClient(options);

    await expect(first.getTask('t')).rejects.toMatchObject({ kind: 'unreachable' });
    await expect(second.getTask('t')).rejects.toMatchObject({ kind: 'unreachable' });
    expect(agentCircuitState(card.supportedInterfaces[0]!.url)).toBe('open');
    // Shared by every client of this agent: the first client now fails fast too, without a request.
    await expect(first.send({ text: 'hi' })).rejects.toMatchObject({ kind: 'circuit_open', notDelivered: true });
    expect(counting.calls).toHaveLength(2);

    await startAgent(echo, port);
    // The breaker lets a trial call through only after `halfOpenAfterMs`.
    await expect(second.send({ text: 'too soon' })).rejects.toMatchObject({ kind: 'circuit_open' });
    vi.setSystemTime(Date.now() + 150);
    const task = await second.send({ text: 'back' });
    expect('id' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(agentCircuitState(`http://127.0.0.1:${port}`)).toBe('closed');
  });

  it('does not count task failures or unknown tasks against the agent', async () => {
    const { service } = await startAgent(async (_input, ctx) => ctx.fail('no'));
    const client = await createA2AClient({ card: service.card!, retry: false, breaker: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 } });
    await expect(client.send({ text: 'a' })).rejects.toMatchObject({ kind: 'task_failed' });
    await expect(client.getTask('missing')).rejects.toMatchObject({ kind: 'task_not_found' });
    expect(agentCircuitState(service.card!.supportedInterfaces[0]!.url)).toBe('closed');
  });
});

describe('createA2AClient: timeouts and aborts', () => {
  const slow: AgentRun = async function* (_input, ctx) {
    ctx.status('started');
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    yield 'never';
  };

  it('times out a blocking call', async () => {
    const { service } = await startAgent(slow);
    const client = await createA2AClient({ card: service.card!, retry: false, breaker: false, timeoutMs: 150 });
    await expect(client.send({ text: 'x' })).rejects.toMatchObject({ kind: 'timeout', code: 'upstream_timeout' });
  });

  it('times out a stream that goes quiet, after its first events arrived', async () => {
    const { service } = await startAgent(slow);
    const client = await createA2AClient({ card: service.card!, retry: false, breaker: false, timeoutMs: 200 });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of client.stream({ text: 'x' })) seen.push(event.kind);
    })().catch((caught: unknown) => caught);
    expect(seen).toEqual(['task', 'status', 'status']);
    expect(error).toMatchObject({ kind: 'timeout' });
  });

  it('reports a caller abort as aborted', async () => {
    const { service } = await startAgent(slow);
    const client = await createA2AClient({ card: service.card!, retry: false, breaker: false });
    const controller = new AbortController();
    const pending = client.send({ text: 'x' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
  });
});

describe('fetchAgentCard', () => {
  it('follows a redirect to the card (a CDN, http -> https), then calls the agent', async () => {
    const { url } = await startAgent(echo);
    const { createServer } = await import('node:http');
    const redirector = createServer((_req, res) => res.writeHead(302, { location: `${url}/.well-known/agent-card.json` }).end());
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const address = redirector.address() as { port: number };
      const client = await createA2AClient({ url: `http://127.0.0.1:${address.port}/cards/echo.json`, retry: false, breaker: false });
      expect(client.agent).toBe('client-test-agent');
      const task = await client.send({ text: 'after a redirect' });
      expect('id' in task && task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    } finally {
      await new Promise<void>((resolve) => redirector.close(() => resolve()));
    }
  });
});
