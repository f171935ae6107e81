import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { verifyWebhookSignature } from '@ensemble/approvals';
import { ApprovalWebhookEvent, ApprovalWebhookHeader } from '@ensemble/protocol';
import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { stopAllServices } from '../support/processes.js';
import { ORCHESTRATE, type Stack, ofType, readStream, startStack } from './support/stack.js';

/**
 * Approval webhooks across real processes: an HTTP receiver in this test (port 0) verifies every
 * delivery's signature, answers 500 to the very first one and 204 afterwards. The orchestrator sends
 * `approval.requested` when the deploy node pauses (retried after the 500), the gateway sends
 * `approval.decided` when the approvals API approves it, and each event arrives exactly once.
 */
const SECRET = 'e2e-webhook-secret';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
  verified: boolean;
  event: ApprovalWebhookEvent | undefined;
}

let stack: Stack;
let receiver: Server;
const deliveries: Delivery[] = [];
const waiters: Array<{ matches: (delivery: Delivery) => boolean; resolve: (delivery: Delivery) => void }> = [];

/** The first accepted (2xx) delivery that matches, already received or still to come. */
function accepted(matches: (event: ApprovalWebhookEvent) => boolean): Promise<Delivery> {
  const test = (delivery: Delivery) => delivery.status < 300 && delivery.event !== undefined && matches(delivery.event);
  const seen = deliveries.find(test);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve) => waiters.push({ matches: test, resolve }));
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = request.headers[ApprovalWebhookHeader.signature];
      const verified = verifyWebhookSignature({ body, header: typeof header === 'string' ? header : undefined, secret: SECRET });
      const parsed = ApprovalWebhookEvent.safeParse(verified ? JSON.parse(body) : undefined);
      // The first delivery fails: the sender must retry it.
      const status = deliveries.length === 0 ? 500 : verified ? 204 : 401;
      const delivery: Delivery = { headers: request.headers, body, status, verified, event: parsed.success ? parsed.data : undefined };
      deliveries.push(delivery);
      response.writeHead(status).end();
      for (const waiter of waiters.filter((candidate) => candidate.matches(delivery))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(delivery);
      }
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/approvals`;
  // Both processes change approvals, so both send webhooks; a short first backoff keeps the retry quick.
  const webhooks = { APPROVAL_WEBHOOK_URLS: url, APPROVAL_WEBHOOK_SECRET: SECRET, APPROVAL_WEBHOOK_RETRY_INITIAL_MS: '50' };
  stack = await startStack({
    agents: [
      { name: 'builder', delayMs: 20 },
      { name: 'deployer', delayMs: 20, reply: 'deployed {{input}}', failure: { mode: 'approval', summary: 'Deploy {{input}} to production' } },
    ],
    orchestratorEnv: webhooks,
    gatewayEnv: webhooks,
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await stopAllServices();
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())));
});

describe('approval webhooks', () => {
  it('a receiver that verifies signatures sees requested and then decided, and survives one failed delivery', async () => {
    await stack.pinPlan('[hook-ship]', plan(planNode('build', 'builder', 'build release 9.1'), planNode('deploy', 'deployer', 'release 9.1', { dependsOn: ['build'] })));
    const { data, response } = await stack.openai.chat.completions
      .create({ model: 'ensemble', messages: [{ role: 'user', content: '[hook-ship] build and ship release 9.1' }], stream: true }, { headers: ORCHESTRATE })
      .withResponse();
    const sessionId = response.headers.get('x-session-id') ?? '';
    const paused = await readStream(data);
    const approvalId = ofType(paused.events, 'approval_required', 'deploy')[0]?.metadata?.['approval_id'];
    expect(approvalId).toEqual(expect.any(String));

    // The pause's event: its first delivery got the 500, the retry went through.
    const requested = await accepted((event) => event.type === 'approval.requested' && event.approval.id === approvalId);
    const requestedId = requested.event?.id;
    const attempts = deliveries.filter((delivery) => delivery.headers[ApprovalWebhookHeader.delivery] === requestedId);
    expect(attempts.map((delivery) => delivery.status)).toEqual([500, 204]);
    expect(attempts[0]?.body).toBe(attempts[1]?.body);
    expect(requested.headers[ApprovalWebhookHeader.event]).toBe('approval.requested');
    expect(requested.headers['content-type']).toBe('application/json');
    expect(requested.event).toMatchObject({
      type: 'approval.requested',
      approval: { object: 'approval', id: approvalId, session_id: sessionId, node_id: 'deploy', agent: 'deployer', status: 'pending', decided_at: null },
    });
    expect(requested.event?.approval.action).toContain('Deploy release 9.1 to production');
    // The API's view: nothing it hides (owner, requested arguments, answer) leaves the server.
    expect(Object.keys((JSON.parse(requested.body) as { approval: object }).approval)).not.toContain('owner');
    expect(requested.body).not.toMatch(/requested_arguments|"answer"/);

    // Decided through the API (the gateway's store sends it).
    const decided = await stack.request(`/v1/approvals/${String(approvalId)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve', comment: 'hooked' }) });
    expect(decided.status).toBe(200);
    const decidedDelivery = await accepted((event) => event.type === 'approval.decided' && event.approval.id === approvalId);
    expect(decidedDelivery.event?.approval).toMatchObject({ id: approvalId, status: 'approved', comment: 'hooked', decided_by: expect.any(String) as string });
    expect(decidedDelivery.headers[ApprovalWebhookHeader.event]).toBe('approval.decided');
    expect(Date.parse(decidedDelivery.event?.created_at ?? '')).toBeGreaterThanOrEqual(Date.parse(requested.event?.created_at ?? ''));

    // The workflow went on regardless of the failed delivery, and finished.
    await stack.orchestrator.waitForLine((line) => line['msg'] === 'workflow finished' && line['session_id'] === sessionId);

    // Every delivery was signed with the shared secret (a wrong secret would not verify), and each event
    // about this approval was sent exactly once: requested, then decided.
    const ours = deliveries.filter((delivery) => delivery.event?.approval.id === approvalId);
    expect(ours.every((delivery) => delivery.verified)).toBe(true);
    expect(verifyWebhookSignature({ body: requested.body, header: String(requested.headers[ApprovalWebhookHeader.signature]), secret: 'not-the-secret' })).toBe(false);
    const events = [...new Map(ours.map((delivery) => [delivery.event?.id, delivery.event?.type])).values()];
    expect(events).toEqual(['approval.requested', 'approval.decided']);
  });
});
