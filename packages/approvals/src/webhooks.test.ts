import { type ApprovalEventType, type ApprovalRecord, ApprovalWebhookEvent, ErrorCode } from '@ensemble/protocol';
import { rejection } from '@ensemble/protocol/testing';
import { describe, expect, it } from 'vitest';

import { collectingLogger } from '../../../test/support/logs.js';
import type { ApprovalStore } from './approval-store.js';
import { InMemoryApprovalStore } from './memory-store.js';
import { describeApprovalStoreConformance, sampleApproval } from './testing/conformance.js';
import { createWebhookNotifier } from './webhook-settings.js';
import { type ApprovalNotifier, WebhookNotifier, type WebhookNotifierOptions, notifyingApprovalStore, signWebhook, verifyWebhookSignature } from './webhooks.js';

const SECRET = 'whsec-test-secret';
const NOW = Date.UTC(2026, 0, 1, 12);

describe('signWebhook / verifyWebhookSignature', () => {
  const body = JSON.stringify({ id: 'evt-1', type: 'approval.requested' });
  const nowSeconds = NOW / 1000;
  const header = signWebhook(body, SECRET, nowSeconds);

  it('signs "<t>.<body>" with HMAC-SHA256 in Stripe form, and verifies its own signature', () => {
    expect(header).toMatch(/^t=1767268800,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ body, header, secret: SECRET, nowSeconds })).toBe(true);
    // Within the tolerance either way (the receiver's clock may run behind or ahead).
    expect(verifyWebhookSignature({ body, header, secret: SECRET, nowSeconds: nowSeconds + 300 })).toBe(true);
    expect(verifyWebhookSignature({ body, header, secret: SECRET, nowSeconds: nowSeconds - 300 })).toBe(true);
  });

  it('refuses a tampered body, a wrong secret, and a re-dated signature', () => {
    expect(verifyWebhookSignature({ body: body.replace('requested', 'decided'), header, secret: SECRET, nowSeconds })).toBe(false);
    expect(verifyWebhookSignature({ body, header, secret: 'another-secret', nowSeconds })).toBe(false);
    // The timestamp is signed: moving it forward to pass the replay check breaks the signature.
    expect(verifyWebhookSignature({ body, header: header.replace(/^t=\d+/, `t=${nowSeconds + 1000}`), secret: SECRET, nowSeconds: nowSeconds + 1000 })).toBe(false);
  });

  it('refuses a stale (replayed) or far-future timestamp, with a configurable tolerance', () => {
    expect(verifyWebhookSignature({ body, header, secret: SECRET, nowSeconds: nowSeconds + 301 })).toBe(false);
    expect(verifyWebhookSignature({ body, header, secret: SECRET, nowSeconds: nowSeconds - 301 })).toBe(false);
    expect(verifyWebhookSignature({ body, header, secret: SECRET, nowSeconds: nowSeconds + 301, toleranceSeconds: 600 })).toBe(true);
    expect(verifyWebhookSignature({ body, header, secret: SECRET, nowSeconds: nowSeconds + 11, toleranceSeconds: 10 })).toBe(false);
  });

  it('refuses missing and malformed headers without throwing, and accepts any matching v1 (secret rotation)', () => {
    const v1 = header.split(',v1=')[1] ?? '';
    for (const bad of [undefined, null, '', 'garbage', `v1=${v1}`, 't=1767268800', `t=abc,v1=${v1}`, `t=1767268800,v1=${v1.slice(2)}`, `t=1767268800,v1=${v1}=x`, `t=1767268800,v0=${v1}`]) {
      expect(verifyWebhookSignature({ body, header: bad, secret: SECRET, nowSeconds }), String(bad)).toBe(false);
    }
    const rotated = `${signWebhook(body, 'old-secret', nowSeconds)},v1=${v1}`;
    expect(verifyWebhookSignature({ body, header: rotated, secret: SECRET, nowSeconds })).toBe(true);
    expect(verifyWebhookSignature({ body, header: ` t=1767268800 , v1=${v1.toUpperCase()} `, secret: SECRET, nowSeconds })).toBe(true);
  });
});

/** One request the fake receiver got. */
interface Received {
  url: string;
  headers: Headers;
  body: string;
  signal: AbortSignal;
}

/** A scripted `fetch`: each call takes the next answer (a status, an error to throw, or 'hang' until aborted). */
function scriptedFetch(answers: Array<number | Error | 'hang'>, fallback: number | Error | 'hang' = 200) {
  const received: Received[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ?? new AbortController().signal;
    received.push({ url: input instanceof Request ? input.url : input.toString(), headers: new Headers(init?.headers), body: typeof init?.body === 'string' ? init.body : '', signal });
    const answer = answers.shift() ?? fallback;
    if (answer === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true });
      });
    }
    if (answer instanceof Error) throw answer;
    return new Response(answer === 204 ? null : 'ok', { status: answer });
  }) as typeof fetch;
  return { fetch: fetchFn, received };
}

function record(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    object: 'approval',
    id: '7d1b7c0e-4a6f-4a57-9a3e-2f1f7f1f0a11',
    owner: 'alice',
    session_id: 'session-1',
    node_id: 'restart',
    agent: 'operations',
    kind: 'approval',
    action: 'Restart payments in production',
    reason: 'asked',
    risks: ['downtime'],
    impact: 'payments',
    arguments: { service: 'payments', environment: 'staging' },
    arguments_schema: null,
    requested_arguments: { service: 'payments', environment: 'production' },
    status: 'pending',
    requested_at: '2026-01-01T12:00:00.000Z',
    expires_at: '2026-01-02T12:00:00.000Z',
    decided_at: null,
    decided_by: null,
    comment: null,
    question: null,
    answer: 'secret answer',
    ...overrides,
  };
}

function notifier(answers: Array<number | Error | 'hang'>, options: Partial<WebhookNotifierOptions> = {}, fallback?: number | Error | 'hang') {
  const fake = scriptedFetch(answers, fallback);
  const logs = collectingLogger('webhooks-test');
  const instance = new WebhookNotifier({
    urls: ['https://hooks.example.com/ensemble/tok-123?key=abc'],
    secret: SECRET,
    logger: logs.logger,
    fetch: fake.fetch,
    now: () => NOW,
    initialDelayMs: 0,
    maxDelayMs: 0,
    ...options,
  });
  const warnings = () => logs.lines.filter((line) => line['level'] === 'warn');
  return { notifier: instance, received: fake.received, logs, warnings };
}

describe('WebhookNotifier', () => {
  it('POSTs the signed event: API view of the record, event and delivery headers, verifiable signature', async () => {
    const { notifier: hooks, received, warnings } = notifier([204]);
    hooks.notify('approval.decided', record({ status: 'approved' }));
    await hooks.settled();
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.url).toBe('https://hooks.example.com/ensemble/tok-123?key=abc');
    expect(request?.headers.get('content-type')).toBe('application/json');
    const event = ApprovalWebhookEvent.parse(JSON.parse(request?.body ?? ''));
    expect(event).toMatchObject({ type: 'approval.decided', created_at: '2026-01-01T12:00:00.000Z', approval: { id: record().id, status: 'approved', arguments: { service: 'payments', environment: 'staging' } } });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    // Only what the API shows: no owner, no requested arguments, no answer.
    expect(Object.keys((JSON.parse(request?.body ?? '{}') as { approval: object }).approval)).not.toContain('owner');
    expect(request?.body).not.toMatch(/"owner"|requested_arguments|secret answer/);
    expect(request?.headers.get('x-ensemble-event')).toBe('approval.decided');
    expect(request?.headers.get('x-ensemble-delivery')).toBe(event.id);
    expect(request?.headers.get('x-ensemble-signature')).toBe(signWebhook(request?.body ?? '', SECRET, NOW / 1000));
    expect(verifyWebhookSignature({ body: request?.body ?? '', header: request?.headers.get('x-ensemble-signature'), secret: SECRET, nowSeconds: NOW / 1000 })).toBe(true);
    expect(warnings()).toEqual([]);
    expect(hooks.inFlight).toBe(0);
  });

  it('retries a 500 (and 408, 429, a network error, a timeout) with the same event id until a 2xx', async () => {
    const { notifier: hooks, received, warnings, logs } = notifier([500, 408, 429, new TypeError('fetch failed'), 'hang', 200], { attemptTimeoutMs: 50 });
    hooks.notify('approval.requested', record());
    await hooks.settled();
    expect(received).toHaveLength(6);
    expect(new Set(received.map((request) => request.headers.get('x-ensemble-delivery'))).size).toBe(1);
    expect(new Set(received.map((request) => request.body)).size).toBe(1);
    // The hung attempt was cancelled by its timeout.
    expect(received[4]?.signal.aborted).toBe(true);
    expect(warnings()).toEqual([]);
    expect(logs.lines).toContainEqual(expect.objectContaining({ msg: 'approval webhook delivered', attempts: 6, url_host: 'hooks.example.com' }));
  });

  it('gives up after maxAttempts with one warning naming host, event and attempts (not the URL path)', async () => {
    const { notifier: hooks, received, warnings } = notifier([], { maxAttempts: 4 }, 503);
    hooks.notify('approval.expired', record({ status: 'expired' }));
    await hooks.settled();
    expect(received).toHaveLength(4);
    expect(warnings()).toHaveLength(1);
    const eventId = received[0]?.headers.get('x-ensemble-delivery');
    expect(warnings()[0]).toMatchObject({ msg: 'approval webhook delivery failed; giving up', url_host: 'hooks.example.com', event_id: eventId, event_type: 'approval.expired', approval_id: record().id, attempts: 4, status: 503 });
    expect(JSON.stringify(warnings()[0])).not.toMatch(/tok-123|key=abc/);
  });

  it('defaults to the documented bound: 6 attempts', async () => {
    const { notifier: hooks, received, warnings } = notifier([], {}, new TypeError('fetch failed'));
    hooks.notify('approval.requested', record());
    await hooks.settled();
    expect(received).toHaveLength(6);
    expect(warnings()[0]).toMatchObject({ attempts: 6, error: 'fetch failed' });
  });

  it('gives up at once on a 4xx other than 408/429, and on a redirect', async () => {
    for (const status of [400, 401, 404, 410, 302]) {
      const { notifier: hooks, received, warnings } = notifier([status]);
      hooks.notify('approval.requested', record());
      await hooks.settled();
      expect(received, String(status)).toHaveLength(1);
      expect(warnings()).toEqual([expect.objectContaining({ attempts: 1, status })]);
    }
  });

  it('delivers to every URL on its own: one refusing does not stop the other', async () => {
    const { notifier: hooks, received, warnings } = notifier([404, 200], { urls: ['http://a.test/hook', 'http://b.test/hook'] });
    hooks.notify('approval.requested', record());
    await hooks.settled();
    expect(received.map((request) => request.url).sort()).toEqual(['http://a.test/hook', 'http://b.test/hook']);
    expect(received[0]?.headers.get('x-ensemble-delivery')).toBe(received[1]?.headers.get('x-ensemble-delivery'));
    expect(warnings()).toEqual([expect.objectContaining({ url_host: 'a.test', status: 404 })]);
  });

  it('never blocks or throws: notify returns while the receiver hangs, or when fetch or serialisation throws', async () => {
    const hanging = notifier([], { attemptTimeoutMs: 60_000, closeTimeoutMs: 0 }, 'hang');
    hanging.notifier.notify('approval.requested', record());
    // Returned synchronously, with the delivery still going.
    expect(hanging.notifier.inFlight).toBe(1);
    expect(hanging.received).toHaveLength(1);
    await hanging.notifier.close();

    const logs = collectingLogger('webhooks-test');
    const broken = new WebhookNotifier({
      urls: ['http://a.test/hook'],
      secret: SECRET,
      logger: logs.logger,
      maxAttempts: 1,
      fetch: () => {
        throw new Error('synchronous failure');
      },
    });
    expect(() => broken.notify('approval.requested', record())).not.toThrow();
    await broken.settled();
    // Arguments JSON cannot represent: the event is not sent, and the caller is not told.
    expect(() => broken.notify('approval.requested', record({ arguments: { big: 1n } }))).not.toThrow();
    expect(logs.lines.filter((line) => line['level'] === 'warn')).toEqual([
      expect.objectContaining({ msg: 'approval webhook delivery failed; giving up', error: 'synchronous failure' }),
      expect.objectContaining({ msg: 'approval webhook not sent', approval_id: record().id }),
    ]);
  });

  it('keeps at most maxInFlight deliveries: the oldest is dropped (and aborted) with a warning', async () => {
    const { notifier: hooks, received, warnings } = notifier([], { maxInFlight: 2, attemptTimeoutMs: 60_000, closeTimeoutMs: 0 }, 'hang');
    for (let n = 0; n < 3; n += 1) hooks.notify('approval.requested', record());
    expect(hooks.inFlight).toBe(2);
    expect(received).toHaveLength(3);
    expect(received[0]?.signal.aborted).toBe(true);
    expect(received[1]?.signal.aborted).toBe(false);
    expect(warnings()).toEqual([expect.objectContaining({ msg: 'approval webhook delivery dropped: too many in flight', url_host: 'hooks.example.com', event_id: received[0]?.headers.get('x-ensemble-delivery'), max_in_flight: 2 })]);
    await hooks.close();
  });

  it('close() waits for deliveries in flight, then sends nothing more', async () => {
    let release: (response: Response) => void = () => undefined;
    const logs = collectingLogger('webhooks-test');
    const calls: string[] = [];
    const hooks = new WebhookNotifier({
      urls: ['http://a.test/hook'],
      secret: SECRET,
      logger: logs.logger,
      fetch: ((url: string) => {
        calls.push(url);
        return new Promise<Response>((resolve) => {
          release = resolve;
        });
      }) as typeof fetch,
    });
    hooks.notify('approval.requested', record());
    let closed = false;
    const closing = hooks.close().then(() => {
      closed = true;
    });
    await Promise.resolve();
    expect(closed).toBe(false);
    release(new Response(null, { status: 200 }));
    await closing;
    expect(hooks.inFlight).toBe(0);
    hooks.notify('approval.decided', record());
    expect(calls).toHaveLength(1);
    expect(logs.lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'approval webhook not sent: the notifier is closed', event_type: 'approval.decided' }));
  });

  it('close() is bounded: deliveries still going after closeTimeoutMs are aborted with one warning', async () => {
    const { notifier: hooks, received, warnings } = notifier([], { attemptTimeoutMs: 60_000, closeTimeoutMs: 10 }, 'hang');
    hooks.notify('approval.requested', record());
    await hooks.close();
    expect(received[0]?.signal.aborted).toBe(true);
    expect(hooks.inFlight).toBe(0);
    expect(warnings()).toEqual([expect.objectContaining({ msg: 'approval webhook deliveries abandoned at shutdown', deliveries: 1 })]);
  });
});

describe('createWebhookNotifier', () => {
  it('makes none without URLs, and one that says which hosts (not paths) it sends to otherwise', async () => {
    const logs = collectingLogger('webhooks-test');
    expect(createWebhookNotifier({ APPROVAL_WEBHOOK_URLS: [], APPROVAL_WEBHOOK_SECRET: SECRET, APPROVAL_WEBHOOK_RETRY_INITIAL_MS: 0 }, logs.logger)).toBeUndefined();
    const made = createWebhookNotifier({ APPROVAL_WEBHOOK_URLS: ['https://hooks.example.com/tok-123', 'http://10.0.0.5:9000/x'], APPROVAL_WEBHOOK_SECRET: SECRET, APPROVAL_WEBHOOK_RETRY_INITIAL_MS: 0 }, logs.logger);
    expect(made).toBeInstanceOf(WebhookNotifier);
    await made?.close();
    expect(logs.lines).toContainEqual(expect.objectContaining({ msg: 'approval webhooks on', url_hosts: ['hooks.example.com', '10.0.0.5:9000'] }));
    expect(JSON.stringify(logs.lines)).not.toContain('tok-123');
  });
});

/** Remembers what it was told, in order. */
class RecordingNotifier implements ApprovalNotifier {
  readonly events: Array<{ type: ApprovalEventType; id: string; status: string }> = [];
  notify(type: ApprovalEventType, changed: ApprovalRecord): void {
    this.events.push({ type, id: changed.id, status: changed.status });
  }
}

describe('notifyingApprovalStore', () => {
  it('tells the notifier requested, decided and expired, in order, after each change succeeded', async () => {
    let now = NOW;
    const notifier = new RecordingNotifier();
    const store = notifyingApprovalStore(new InMemoryApprovalStore({ now: () => now }), notifier);
    const first = await store.create(sampleApproval({ timeoutSeconds: 60 }));
    const second = await store.create(sampleApproval({ timeoutSeconds: 60 }));
    await store.get(first.id, 'alice');
    await store.list('alice');
    await store.nextDeadlineIn();
    await store.decide(first.id, 'alice', { decision: 'approved', decidedBy: 'alice' });
    // Failed calls tell nothing: a second decision, another owner's, an unknown id.
    expect((await rejection(store.decide(first.id, 'alice', { decision: 'rejected', decidedBy: 'alice' }))).code).toBe(ErrorCode.Conflict);
    expect((await rejection(store.decide(second.id, 'mallory', { decision: 'rejected', decidedBy: 'mallory' }))).code).toBe(ErrorCode.NotFound);
    expect(await store.claimExpired()).toEqual([]);
    now += 60_000;
    expect((await store.claimExpired()).map((claimed) => claimed.id)).toEqual([second.id]);
    expect(notifier.events).toEqual([
      { type: 'approval.requested', id: first.id, status: 'pending' },
      { type: 'approval.requested', id: second.id, status: 'pending' },
      { type: 'approval.decided', id: first.id, status: 'approved' },
      { type: 'approval.expired', id: second.id, status: 'expired' },
    ]);
  });

  it('a notifier that breaks its contract and throws still cannot fail the store call', async () => {
    const store = notifyingApprovalStore(new InMemoryApprovalStore(), {
      notify() {
        throw new Error('boom');
      },
    });
    const created = await store.create(sampleApproval());
    expect((await store.decide(created.id, 'alice', { decision: 'rejected', decidedBy: 'alice' })).status).toBe('rejected');
  });
});

// The decorated store keeps the whole ApprovalStore contract.
describeApprovalStoreConformance('notifyingApprovalStore(InMemoryApprovalStore)', async () => {
  let shared: ApprovalStore | undefined;
  return {
    open: async (now) => (shared ??= notifyingApprovalStore(new InMemoryApprovalStore({ now }), new RecordingNotifier())),
    cleanup: async () => undefined,
  };
});
