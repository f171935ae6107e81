import { Writable } from 'node:stream';

import { InMemoryApprovalStore } from '@ensemble/approvals';
import { sampleApproval } from '@ensemble/approvals/testing';
import { createLlmClient } from '@ensemble/llm';
import { Approval, ApprovalList, ClassifierVerdict } from '@ensemble/protocol';
import { createRouter } from '@ensemble/routing';
import { principalOf } from '@ensemble/service';
import { InMemorySessionStore } from '@ensemble/sessions';
import { createLogger } from '@ensemble/telemetry';
import { beforeEach, describe, expect, it } from 'vitest';

import { createGatewayApp } from './app.js';

/** The approvals routes in-process (`app.request`): scoping, validation, decide-once and the resume call. */
const logLines: Record<string, unknown>[] = [];
const logger = createLogger({
  service: 'gateway-test',
  level: 'info',
  destination: new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  }),
});
const TOKEN = 'client-token';
const OTHER = 'other-token';
const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
const owner = principalOf(TOKEN);

describe('/v1/approvals', () => {
  let approvals: InMemoryApprovalStore;
  let sessions: InMemorySessionStore;
  let resumed: { sessionId: string; principal: string }[];
  let app: ReturnType<typeof createGatewayApp>;
  let sessionId: string;

  beforeEach(async () => {
    approvals = new InMemoryApprovalStore();
    sessions = new InMemorySessionStore();
    resumed = [];
    logLines.length = 0;
    sessionId = (await sessions.create({ owner, request: { messages: [{ role: 'user', content: 'Restart the payments service in production' }], model: null } })).id;
    app = createGatewayApp({
      logger,
      upstream: createLlmClient({ baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }),
      upstreamTimeoutMs: 1_000,
      router: createRouter({ classifier: { classify: () => Promise.resolve(ClassifierVerdict.parse({ needs_orchestration: false, reason: 'test' })) }, classifierTimeoutMs: 100 }),
      apiTokens: [TOKEN, OTHER],
      approvals: { store: approvals, sessions, resume: (id, principal) => resumed.push({ sessionId: id, principal }) },
    });
  });

  const post = (path: string, body: unknown, token = TOKEN) => app.request(path, { method: 'POST', headers: auth(token), body: JSON.stringify(body) });

  it('lists the caller’s approvals (pending first, paged) and shows one in the public shape', async () => {
    const first = await approvals.create(sampleApproval({ owner, sessionId }));
    const second = await approvals.create(sampleApproval({ owner, sessionId, nodeId: 'deploy' }));
    await approvals.create(sampleApproval({ owner: principalOf(OTHER) }));
    await approvals.decide(first.id, owner, { decision: 'rejected', decidedBy: owner });
    const response = await app.request('/v1/approvals?limit=1', { headers: auth() });
    expect(response.status).toBe(200);
    const page = ApprovalList.parse(await response.json());
    expect(page.data.map((item) => item.id)).toEqual([second.id]);
    expect(page.next_cursor).not.toBeNull();
    const rest = ApprovalList.parse(await (await app.request(`/v1/approvals?cursor=${page.next_cursor}`, { headers: auth() })).json());
    expect(rest.data.map((item) => item.id)).toEqual([first.id]);
    expect(ApprovalList.parse(await (await app.request('/v1/approvals?status=rejected', { headers: auth() })).json()).data).toHaveLength(1);
    const one = await (await app.request(`/v1/approvals/${second.id}`, { headers: auth() })).json();
    expect(Approval.strict().parse(one)).toMatchObject({ object: 'approval', id: second.id, session_id: sessionId, status: 'pending', arguments: { service: 'payments', environment: 'production' } });
    expect((await app.request('/v1/approvals?status=maybe', { headers: auth() })).status).toBe(400);
    expect((await app.request('/v1/approvals?limit=0', { headers: auth() })).status).toBe(400);
  });

  it('approves with edited arguments once: 200 with the record, a log line, a background resume; then 409', async () => {
    const record = await approvals.create(sampleApproval({ owner, sessionId }));
    const response = await post(`/v1/approvals/${record.id}`, { decision: 'approve', arguments: { service: 'payments', environment: 'staging' }, comment: 'staging first' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'approved', decided_by: owner, comment: 'staging first', arguments: { service: 'payments', environment: 'staging' } });
    expect(resumed).toEqual([{ sessionId, principal: owner }]);
    expect(logLines.find((line) => line['msg'] === 'approval decided')).toMatchObject({
      approval_id: record.id,
      decision: 'approved',
      decided_by: owner,
      arguments_before: { service: 'payments', environment: 'production' },
      arguments_after: { service: 'payments', environment: 'staging' },
    });
    const again = await post(`/v1/approvals/${record.id}`, { decision: 'reject' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain('already approved');
    expect(resumed).toHaveLength(1);
  });

  it('400 naming the field when edited arguments fail the schema, or the body is malformed; nothing decided', async () => {
    const record = await approvals.create(sampleApproval({ owner, sessionId }));
    const bad = await post(`/v1/approvals/${record.id}`, { decision: 'approve', arguments: { service: 'payments', environment: 'moon' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('arguments.environment');
    expect((await post(`/v1/approvals/${record.id}`, { decision: 'maybe' })).status).toBe(400);
    expect((await post(`/v1/approvals/${record.id}`, { answer: 'yes' })).status).toBe(400);
    expect((await approvals.get(record.id, owner))?.status).toBe('pending');
    expect(resumed).toEqual([]);
  });

  it('answers an input approval with {answer}', async () => {
    const record = await approvals.create(sampleApproval({ owner, sessionId, kind: 'input', question: 'Which region?', arguments: null, argumentsSchema: null }));
    const response = await post(`/v1/approvals/${record.id}`, { answer: 'eu-west-1' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ kind: 'input', status: 'approved' });
    expect((await approvals.get(record.id, owner))?.answer).toBe('eu-west-1');
  });

  it('another principal gets 404 on every route and changes nothing', async () => {
    const record = await approvals.create(sampleApproval({ owner, sessionId }));
    expect((await app.request(`/v1/approvals/${record.id}`, { headers: auth(OTHER) })).status).toBe(404);
    expect((await post(`/v1/approvals/${record.id}`, { decision: 'approve' }, OTHER)).status).toBe(404);
    expect((await app.request(`/v1/sessions/${sessionId}/approvals`, { headers: auth(OTHER) })).status).toBe(404);
    expect((await post(`/v1/sessions/${sessionId}/approvals`, { decision: 'approve' }, OTHER)).status).toBe(404);
    expect((await post(`/v1/sessions/${sessionId}/approvals`, { decision: 'approve', approval_id: record.id }, OTHER)).status).toBe(404);
    expect(ApprovalList.parse(await (await app.request('/v1/approvals', { headers: auth(OTHER) })).json()).data).toEqual([]);
    expect((await approvals.get(record.id, owner))?.status).toBe('pending');
    expect(resumed).toEqual([]);
  });

  it('session routes: list the session’s approvals; decide the single pending one, or name it when several are pending (409 with the ids)', async () => {
    const restart = await approvals.create(sampleApproval({ owner, sessionId }));
    const deploy = await approvals.create(sampleApproval({ owner, sessionId, nodeId: 'deploy' }));
    await approvals.create(sampleApproval({ owner }));
    const listed = ApprovalList.parse(await (await app.request(`/v1/sessions/${sessionId}/approvals`, { headers: auth() })).json());
    expect(listed.data.map((item) => item.id).sort()).toEqual([restart.id, deploy.id].sort());
    const ambiguous = await post(`/v1/sessions/${sessionId}/approvals`, { decision: 'approve' });
    expect(ambiguous.status).toBe(409);
    const message = ((await ambiguous.json()) as { error: { message: string } }).error.message;
    expect(message).toContain(restart.id);
    expect(message).toContain(deploy.id);
    expect((await post(`/v1/sessions/${sessionId}/approvals`, { decision: 'reject', approval_id: deploy.id })).status).toBe(200);
    const single = await post(`/v1/sessions/${sessionId}/approvals`, { decision: 'approve' });
    expect(single.status).toBe(200);
    expect(await single.json()).toMatchObject({ id: restart.id, status: 'approved' });
    expect((await post(`/v1/sessions/${sessionId}/approvals`, { decision: 'approve' })).status).toBe(409);
  });
});

describe('chat answers with several approvals pending', () => {
  it('a chat "approve" on a session with two pending approvals is a 409 listing both ids; other turns pass', async () => {
    const approvals = new InMemoryApprovalStore();
    const sessionId = 'b7f3c2e9-0000-4d8e-9a57-0b7f3c2e9d10';
    const first = await approvals.create(sampleApproval({ owner, sessionId }));
    const second = await approvals.create(sampleApproval({ owner, sessionId, nodeId: 'deploy' }));
    const app = createGatewayApp({
      logger,
      upstream: createLlmClient({ baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }),
      upstreamTimeoutMs: 1_000,
      router: createRouter({ classifier: { classify: () => Promise.resolve(ClassifierVerdict.parse({ needs_orchestration: false, reason: 'test' })) }, classifierTimeoutMs: 100 }),
      apiTokens: [TOKEN],
      approvals: { store: approvals, sessions: new InMemorySessionStore(), resume: () => undefined },
    });
    const chat = (content: string) =>
      app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { ...auth(), 'X-Session-ID': sessionId, 'X-Routing-Mode': 'orchestration' },
        body: JSON.stringify({ model: 'ensemble', messages: [{ role: 'user', content: 'restart things' }, { role: 'user', content }] }),
      });
    const refused = await chat('approve');
    expect(refused.status).toBe(409);
    const { error } = (await refused.json()) as { error: { message: string; code: string } };
    expect(error.code).toBe('approval_ambiguous');
    expect(error.message).toContain(first.id);
    expect(error.message).toContain(second.id);
    // Not an answer: it goes on to orchestration (501 here: this gateway has no orchestrator).
    expect((await chat('what is the status?')).status).toBe(501);
    await approvals.decide(first.id, owner, { decision: 'approved', decidedBy: owner });
    expect((await chat('approve')).status).toBe(501);
  });
});
