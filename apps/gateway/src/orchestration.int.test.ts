import { createServer } from 'node:net';
import { Writable } from 'node:stream';

import type { AgentInfo } from '@ensemble/a2a/client';
import { createLlmClient } from '@ensemble/llm';
import { maxOrchestrationMessageBytes, orchestrationMessageBytes } from '@ensemble/openai-a2a';
import { ChatCompletionRequest, ClassifierVerdict, type Session, SessionView } from '@ensemble/protocol';
import { createRouter } from '@ensemble/routing';
import { principalOf } from '@ensemble/service';
import { InMemorySessionStore } from '@ensemble/sessions';
import { createLogger } from '@ensemble/telemetry';
import { describe, expect, it } from 'vitest';

import { type GatewayDeps, createGatewayApp } from './app.js';
import type { OrchestrationHandler, OrchestrationRequest } from './orchestration.js';
import { A2AOrchestration } from './orchestrator-client.js';
import { InMemorySessionTaskIndex } from './session-tasks.js';
import { toSessionView } from './sessions-api.js';

/**
 * The gateway's complex-path edges in-process (`app.request`): what a client gets when the orchestrator
 * is down, the sessions routes' scoping and validation, `/v1/agents` and the OpenAPI document. The
 * working path against a real orchestrator is covered by `test/e2e/orchestration.test.ts`.
 */
const logger = createLogger({ service: 'gateway-test', level: 'silent', destination: new Writable({ write: (_c, _e, callback) => callback() }) });
const TOKEN = 'client-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

function gateway(overrides: Partial<GatewayDeps> = {}) {
  return createGatewayApp({
    logger,
    // Never called: every request here is routed by header or never reaches the upstream.
    upstream: createLlmClient({ baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }),
    upstreamTimeoutMs: 1_000,
    router: createRouter({ classifier: { classify: () => Promise.resolve(ClassifierVerdict.parse({ needs_orchestration: false, reason: 'test' })) }, classifierTimeoutMs: 100 }),
    apiTokens: [TOKEN],
    ...overrides,
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

const chat = (headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { ...AUTH, 'content-type': 'application/json', 'X-Routing-Mode': 'orchestration', ...headers },
  body: JSON.stringify({ model: 'ensemble', messages: [{ role: 'user', content: 'plan a trip' }] }),
});

describe('the complex path when the orchestrator is down', () => {
  it('answers 503 in the OpenAI error format, without the orchestrator’s address', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const orchestration = new A2AOrchestration({ url, token: 'internal', timeoutMs: 2_000, logger, sessionTasks: new InMemorySessionTaskIndex() });
    const app = gateway({ orchestration, sessions: { store: new InMemorySessionStore(), cancel: (id, principal) => orchestration.cancelSession(id, principal) } });
    const attempts: Record<string, string>[] = [{}, { 'X-Session-ID': '3f0c1d52-6f1a-4d8e-9a57-0b7f3c2e9d10' }];
    for (const headers of attempts) {
      const response = await app.request('/v1/chat/completions', chat(headers));
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: { code: string; message: string; type: string } };
      expect(body.error).toMatchObject({ code: 'orchestrator_unavailable' });
      expect(body.error.message).not.toContain(url);
      expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    }
    // Cancelling a session needs the orchestrator too.
    const cancel = await app.request('/v1/sessions/3f0c1d52-6f1a-4d8e-9a57-0b7f3c2e9d10', { method: 'DELETE', headers: AUTH });
    expect(cancel.status).toBe(503);
  });

  it('answers 501 on a gateway configured without an orchestrator', async () => {
    const app = gateway();
    expect((await app.request('/v1/chat/completions', chat())).status).toBe(501);
    const sessions = await app.request('/v1/sessions', { headers: AUTH });
    expect(sessions.status).toBe(501);
    expect(await sessions.json()).toMatchObject({ error: { code: 'sessions_unavailable' } });
    expect((await app.request('/v1/sessions/abc', { headers: AUTH })).status).toBe(501);
  });
});

describe('what the orchestration path cannot take is refused before it is sent', () => {
  /** An orchestration handler that records what reaches it and answers 200. */
  function recording() {
    const received: OrchestrationRequest[] = [];
    const orchestration: OrchestrationHandler = {
      handle: (input) => {
        received.push(input);
        return Promise.resolve(new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } }));
      },
    };
    return { orchestration, received };
  }
  const post = (body: unknown, headers: Record<string, string> = {}) => ({
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json', 'X-Routing-Mode': 'orchestration', ...headers },
    body: JSON.stringify(body),
  });

  it.each([
    { name: 'an empty user message', messages: [{ role: 'user', content: '' }] },
    { name: 'a whitespace-only user message', messages: [{ role: 'user', content: ' \n\t ' }] },
    { name: 'no user message', messages: [{ role: 'system', content: 'You are terse.' }] },
    { name: 'only non-text parts', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.test/a.png' } }] }] },
    { name: 'blank text parts', messages: [{ role: 'user', content: [{ type: 'text', text: '   ' }] }] },
    { name: 'a blank last user turn after a real one', messages: [{ role: 'user', content: 'plan a trip' }, { role: 'assistant', content: 'Where to?' }, { role: 'user', content: ' ' }] },
  ])('400 no_user_text for $name', async ({ messages }) => {
    const { orchestration, received } = recording();
    const response = await gateway({ orchestration }).request('/v1/chat/completions', post({ model: 'ensemble', messages }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'no_user_text', param: 'messages' } });
    expect(received).toHaveLength(0);
  });

  it('lets a turn on an existing session through without text (approval answers, re-attaching)', async () => {
    const { orchestration, received } = recording();
    const response = await gateway({ orchestration }).request('/v1/chat/completions', post({ model: 'ensemble', messages: [{ role: 'user', content: '' }] }, { 'X-Session-ID': 'sess-1' }));
    expect(response.status).toBe(200);
    expect(received).toHaveLength(1);
  });

  it('413 for a conversation larger than the agents accept, sized from A2A_MAX_BODY_BYTES', async () => {
    const agentMaxBodyBytes = 512 * 1024;
    const limit = maxOrchestrationMessageBytes(agentMaxBodyBytes);
    const { orchestration, received } = recording();
    const app = gateway({ orchestration, agentMaxBodyBytes, maxBodyBytes: 10 * 1024 * 1024 });
    // The orchestrator forwards the last user turn twice more (to the planner): a third of the budget each.
    const fits = { model: 'ensemble', messages: [{ role: 'user', content: 'x'.repeat(Math.floor(limit / 3) - 100) }] };
    expect(orchestrationMessageBytes(ChatCompletionRequest.parse(fits))).toBeLessThanOrEqual(limit);
    expect((await app.request('/v1/chat/completions', post(fits))).status).toBe(200);

    const tooBig = { model: 'ensemble', messages: [{ role: 'user', content: 'x'.repeat(Math.floor(limit / 3) + 100) }] };
    const response = await app.request('/v1/chat/completions', post(tooBig));
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error: { code: string; param: string; message: string } };
    expect(body.error).toMatchObject({ code: 'conversation_too_large', param: 'messages' });
    expect(body.error.message).toContain('A2A_MAX_BODY_BYTES');
    expect(received).toHaveLength(1);

    // Same request on the passthrough path: only the gateway's own MAX_BODY_BYTES applies there.
    const passthroughOnly = gateway({ orchestration, agentMaxBodyBytes });
    const direct = await passthroughOnly.request('/v1/chat/completions', post(tooBig, { 'X-Routing-Mode': 'passthrough' }));
    expect(direct.status).not.toBe(413);
  });
});

describe('/v1/sessions', () => {
  const store = new InMemorySessionStore();
  function baseDeps(): GatewayDeps {
    return {
      logger,
      upstream: createLlmClient({ baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }),
      upstreamTimeoutMs: 1_000,
      router: createRouter({ classifier: { classify: () => Promise.reject(new Error('unused')) }, classifierTimeoutMs: 100 }),
      apiTokens: [TOKEN, 'other-token'],
    };
  }

  it('shows callers their own sessions only, in the public shape', async () => {
    // Sessions are owned by the principal the gateway derives from the caller's token.
    const owner = principalOf(TOKEN);
    const mine = await store.create({ owner, request: { messages: [{ role: 'user', content: 'secret plans' }], model: 'ensemble' } });
    await store.create({ owner: principalOf('other-token'), request: { messages: [{ role: 'user', content: 'theirs' }], model: null } });
    const app = createGatewayApp({ ...baseDeps(), sessions: { store, cancel: () => Promise.reject(new Error('unused')) } });

    const list = await app.request('/v1/sessions', { headers: AUTH });
    const body = (await list.json()) as { object: string; data: SessionView[] };
    expect(body.object).toBe('list');
    expect(body.data.map((session) => session.id)).toEqual([mine.id]);

    const one = await app.request(`/v1/sessions/${mine.id}`, { headers: AUTH });
    expect(one.status).toBe(200);
    const view = SessionView.parse(await one.json());
    expect(view).toMatchObject({ object: 'session', id: mine.id, status: 'active', model: 'ensemble', plan: null, nodes: {} });
    // Neither the owner's identity nor the conversation is part of the view.
    expect(JSON.stringify(view)).not.toContain(owner);
    expect(JSON.stringify(view)).not.toContain('secret plans');

    const foreign = await app.request(`/v1/sessions/${mine.id}`, { headers: { authorization: 'Bearer other-token' } });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ error: { code: 'session_not_found' } });
    expect((await app.request('/v1/sessions', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('validates the listing limit', async () => {
    const app = createGatewayApp({ ...baseDeps(), sessions: { store, cancel: () => Promise.reject(new Error('unused')) } });
    const response = await app.request('/v1/sessions?limit=0', { headers: AUTH });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'limit' } });
  });

  it('maps node results into the view', () => {
    const session: Session = {
      id: '3f0c1d52-6f1a-4d8e-9a57-0b7f3c2e9d10',
      owner: 'hash',
      status: 'active',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:01.000Z',
      request: { messages: [{ role: 'user', content: 'x' }], model: null },
      dag: {
        goal: 'g',
        rationale: 'r',
        nodes: [{ id: 'a', agent: 'alpha', skill: null, input: 'x', dependsOn: [], condition: null, retry: { maxAttempts: 1, backoffMs: 0 }, timeoutMs: 1_000, fallbackAgent: null, description: 'd' }],
      },
      currentNodes: ['a'],
      approvalContext: null,
      errorType: null,
      errorMessage: null,
      nodes: {
        a: { status: 'running', output: null, error: null, attempts: 1, agent: 'alpha', startedAt: '2026-01-01T00:00:00.500Z', finishedAt: null, taskId: 'agent-task-1', approvalContext: null, skipReason: null },
      },
    };
    const view = toSessionView(session);
    expect(SessionView.parse(view)).toEqual(view);
    expect(view.plan?.nodes).toEqual([{ id: 'a', agent: 'alpha', skill: null, description: 'd', depends_on: [] }]);
    expect(view.nodes['a']).toMatchObject({ status: 'running', agent: 'alpha', attempts: 1, started_at: '2026-01-01T00:00:00.500Z' });
    expect(JSON.stringify(view)).not.toContain('agent-task-1');
  });
});

describe('/v1/agents and the OpenAPI document', () => {
  it('lists the registry’s agents behind the bearer token', async () => {
    const agent: AgentInfo = { url: 'http://127.0.0.1:8201', status: 'unavailable', lastChecked: '2026-01-01T00:00:00.000Z', lastError: 'connection refused', name: 'search-agent', endpoint: null, card: null, summary: null };
    const app = gateway({ agents: { list: () => [agent] } });
    expect((await app.request('/v1/agents')).status).toBe(401);
    const response = await app.request('/v1/agents', { headers: AUTH });
    expect(await response.json()).toMatchObject({ object: 'list', data: [{ object: 'agent', name: 'search-agent', status: 'unavailable', available: false, last_error: 'connection refused' }] });
  });

  it('documents the sessions and agents routes', async () => {
    const document = (await (await gateway().request('/openapi.json')).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/sessions', '/v1/sessions/{id}', '/v1/agents']));
    expect(Object.keys(document.paths['/v1/sessions/{id}'] ?? {})).toEqual(expect.arrayContaining(['get', 'delete']));
    expect(Object.keys(document.paths['/v1/chat/completions']?.['post']?.responses ?? {})).toEqual(expect.arrayContaining(['404', '409', '503']));
  });
});
