import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

import { type ApprovalEventType, type ApprovalRecord, type ApprovalWebhookEvent, ApprovalWebhookHeader, toApprovalView } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';
import { ExponentialBackoff, TimeoutStrategy, handleWhen, retry, timeout, wrap } from 'cockatiel';
import type { ICancellationContext, IPolicy, IRetryContext } from 'cockatiel';

import type { ApprovalStore } from './approval-store.js';

/** How far a signature's timestamp may be from the receiver's clock (either way) before it counts as a replay. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

/** The delivery bound the README documents: 6 attempts, backoff from 1 s growing to at most 30 s, 10 s per attempt. */
export const WEBHOOK_DELIVERY_DEFAULTS = {
  maxAttempts: 6,
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  attemptTimeoutMs: 10_000,
  maxInFlight: 1_000,
  closeTimeoutMs: 5_000,
} as const;

function hmacHex(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload, 'utf8').digest('hex');
}

/**
 * The `X-Ensemble-Signature` value for `body` (the exact bytes sent) at `nowSeconds` (Unix seconds):
 * `t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The timestamp is signed with the body, so it
 * cannot be changed to replay an old delivery later.
 */
export function signWebhook(body: string, secret: string, nowSeconds: number): string {
  const t = Math.floor(nowSeconds);
  return `t=${t},v1=${hmacHex(secret, `${t}.${body}`)}`;
}

export interface VerifyWebhookInput {
  /** The raw request body, exactly as received (not re-serialised JSON). */
  body: string;
  /** The `X-Ensemble-Signature` header (absent → false). */
  header: string | null | undefined;
  secret: string;
  /** Accepted distance between the signed timestamp and now. Default 300 s. */
  toleranceSeconds?: number;
  /** The receiver's clock, Unix seconds. Default now. */
  nowSeconds?: number;
}

/**
 * True when `header` carries a `v1` signature of `body` made with `secret` at a timestamp within
 * `toleranceSeconds` of now. Compares in constant time; a malformed header is false, never an exception.
 */
export function verifyWebhookSignature(input: VerifyWebhookInput): boolean {
  if (input.header === null || input.header === undefined) return false;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of input.header.split(',')) {
    const [key, value, ...rest] = part.trim().split('=');
    if (value === undefined || rest.length > 0) return false;
    if (key === 't' && /^\d+$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) return false;
  const now = input.nowSeconds ?? Date.now() / 1000;
  if (Math.abs(now - timestamp) > (input.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(hmacHex(input.secret, `${timestamp}.${input.body}`), 'hex');
  // Every candidate is compared (no early exit), each in constant time.
  let matched = false;
  for (const signature of signatures) matched = timingSafeEqual(expected, Buffer.from(signature, 'hex')) || matched;
  return matched;
}

/**
 * Told about every change of an approval. Contract: `notify` returns at once and never throws; whatever
 * it does (a delivery over the network) happens in the background and can neither block nor fail the
 * store call that changed the approval.
 */
export interface ApprovalNotifier {
  notify(type: ApprovalEventType, record: ApprovalRecord): void;
}

export interface WebhookNotifierOptions {
  /** Every URL gets every event, each delivered (and retried) on its own. */
  urls: readonly string[];
  /** HMAC key of `X-Ensemble-Signature`. */
  secret: string;
  /** One `warn` line per delivery given up (and per event dropped); `debug` per delivery made. */
  logger: Logger;
  /** Injected in tests. Default the global `fetch`. */
  fetch?: typeof fetch;
  /** The clock (ms since the epoch) of `created_at` and of signature timestamps. Default `Date.now`. */
  now?: () => number;
  /** Attempts per URL, the first included. Default 6. */
  maxAttempts?: number;
  /** First backoff delay (later ones grow exponentially with jitter). Default 1 s; tests pass 0. */
  initialDelayMs?: number;
  /** Cap on one backoff delay. Default 30 s. */
  maxDelayMs?: number;
  /** Time one attempt may take, response headers included. Default 10 s. */
  attemptTimeoutMs?: number;
  /** Deliveries (event × URL) kept at once; beyond it the oldest is dropped with a warning. Default 1000. */
  maxInFlight?: number;
  /** How long `close()` waits for deliveries still in flight before abandoning them. Default 5 s. */
  closeTimeoutMs?: number;
}

/** The receiver refused the delivery for good (a 4xx other than 408/429, or a redirect): no retry. */
class PermanentDeliveryError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** A 408, 429 or 5xx: worth another attempt. */
class RetryableDeliveryError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

interface Delivery {
  url: string;
  eventId: string;
  controller: AbortController;
  done: Promise<void>;
  dropped: boolean;
}

/** The host of a webhook URL, for logs (its path and query may hold a token). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}

function errorSummary(error: unknown): string {
  if (error instanceof PermanentDeliveryError || error instanceof RetryableDeliveryError) return error.message;
  if (error instanceof Error) return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
  return String(error);
}

/**
 * Delivers approval events as signed JSON `POST`s to every configured URL (`APPROVAL_WEBHOOK_URLS`).
 * Fire-and-forget: `notify` builds the event and returns; each URL's delivery retries on its own (network
 * errors, timeouts, 408, 429, 5xx) with exponential backoff and gives up after `maxAttempts` with one
 * warning; any other 4xx (or a redirect) is given up at once. The event id is the same on every
 * attempt; the signature's timestamp is fresh on each. At most `maxInFlight` deliveries are kept: a dead
 * receiver cannot grow memory without bound.
 */
export class WebhookNotifier implements ApprovalNotifier {
  readonly #urls: readonly string[];
  readonly #secret: string;
  readonly #logger: Logger;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #maxInFlight: number;
  readonly #closeTimeoutMs: number;
  readonly #policy: IPolicy<IRetryContext & ICancellationContext>;
  readonly #maxAttempts: number;
  /** In start order: the first entry is the oldest (dropped first). */
  readonly #inFlight = new Set<Delivery>();
  #closed = false;

  constructor(options: WebhookNotifierOptions) {
    this.#urls = [...options.urls];
    this.#secret = options.secret;
    this.#logger = options.logger;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? WEBHOOK_DELIVERY_DEFAULTS.maxInFlight);
    this.#closeTimeoutMs = options.closeTimeoutMs ?? WEBHOOK_DELIVERY_DEFAULTS.closeTimeoutMs;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? WEBHOOK_DELIVERY_DEFAULTS.maxAttempts);
    const retries = retry(
      handleWhen((error) => !(error instanceof PermanentDeliveryError)),
      {
        // cockatiel counts retries, not attempts.
        maxAttempts: this.#maxAttempts - 1,
        backoff: new ExponentialBackoff({
          initialDelay: options.initialDelayMs ?? WEBHOOK_DELIVERY_DEFAULTS.initialDelayMs,
          maxDelay: options.maxDelayMs ?? WEBHOOK_DELIVERY_DEFAULTS.maxDelayMs,
        }),
      },
    ).dangerouslyUnref(); // a backoff timer must not keep a stopping process alive
    this.#policy = wrap(retries, timeout(options.attemptTimeoutMs ?? WEBHOOK_DELIVERY_DEFAULTS.attemptTimeoutMs, TimeoutStrategy.Aggressive));
  }

  notify(type: ApprovalEventType, record: ApprovalRecord): void {
    try {
      const event: ApprovalWebhookEvent = { id: randomUUID(), type, created_at: new Date(this.#now()).toISOString(), approval: toApprovalView(record) };
      if (this.#closed) {
        this.#logger.warn({ event_id: event.id, event_type: type, approval_id: record.id }, 'approval webhook not sent: the notifier is closed');
        return;
      }
      const body = JSON.stringify(event);
      for (const url of this.#urls) this.#start(url, event, body);
    } catch (error) {
      this.#logger.warn({ err: error, event_type: type, approval_id: record.id }, 'approval webhook not sent');
    }
  }

  /** Deliveries started and not yet finished (delivered, given up or dropped). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Resolves once every delivery started so far has finished (tests wait on it instead of sleeping). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight].map((delivery) => delivery.done));
  }

  /**
   * Stops taking events and waits up to `closeTimeoutMs` for the deliveries in flight; those still going
   * after that are abandoned (aborted, with one warning saying how many).
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.settled(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#closeTimeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    const abandoned = [...this.#inFlight];
    if (abandoned.length === 0) return;
    this.#logger.warn({ deliveries: abandoned.length, event_ids: [...new Set(abandoned.map((delivery) => delivery.eventId))] }, 'approval webhook deliveries abandoned at shutdown');
    for (const delivery of abandoned) {
      delivery.dropped = true;
      delivery.controller.abort();
      this.#inFlight.delete(delivery);
    }
  }

  #start(url: string, event: ApprovalWebhookEvent, body: string): void {
    if (this.#inFlight.size >= this.#maxInFlight) {
      const oldest = this.#inFlight.values().next().value;
      if (oldest !== undefined) {
        oldest.dropped = true;
        oldest.controller.abort();
        this.#inFlight.delete(oldest);
        this.#logger.warn({ url_host: hostOf(oldest.url), event_id: oldest.eventId, max_in_flight: this.#maxInFlight }, 'approval webhook delivery dropped: too many in flight');
      }
    }
    const controller = new AbortController();
    let attempts = 0;
    const delivery: Delivery = { url, eventId: event.id, controller, dropped: false, done: Promise.resolve() };
    const context = { url_host: hostOf(url), event_id: event.id, event_type: event.type, approval_id: event.approval.id };
    delivery.done = this.#policy
      .execute(async ({ signal }) => {
        if (signal.aborted) throw new Error('delivery aborted');
        attempts += 1;
        await this.#attempt(url, event, body, signal);
      }, controller.signal)
      .then(
        () => this.#logger.debug({ ...context, attempts }, 'approval webhook delivered'),
        (error: unknown) => {
          if (delivery.dropped) return;
          const status = error instanceof PermanentDeliveryError || error instanceof RetryableDeliveryError ? error.status : undefined;
          this.#logger.warn({ ...context, attempts, ...(status === undefined ? {} : { status }), error: errorSummary(error) }, 'approval webhook delivery failed; giving up');
        },
      )
      .finally(() => this.#inFlight.delete(delivery));
    this.#inFlight.add(delivery);
  }

  async #attempt(url: string, event: ApprovalWebhookEvent, body: string, signal: AbortSignal): Promise<void> {
    const response = await this.#fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Ensemble-Webhooks/1',
        [ApprovalWebhookHeader.signature]: signWebhook(body, this.#secret, this.#now() / 1000),
        [ApprovalWebhookHeader.event]: event.type,
        [ApprovalWebhookHeader.delivery]: event.id,
      },
      body,
      // A redirect is not followed (it would re-send the signed body elsewhere): it counts as a refusal.
      redirect: 'manual',
      signal,
    });
    // The answer's body is never read; release the connection.
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return;
    if (response.status === 408 || response.status === 429 || response.status >= 500) throw new RetryableDeliveryError(response.status);
    throw new PermanentDeliveryError(response.status);
  }
}

/**
 * An `ApprovalStore` that tells `notifier` about every change it makes, after the store call succeeded:
 * `create` → `approval.requested`, `decide` → `approval.decided`, each record `claimExpired` returns →
 * `approval.expired`. Reads, `nextDeadlineIn`, the wake-ups and `close` pass through. Since `decide` and `claimExpired`
 * succeed once per approval across processes, each event is sent once, by the process that made the change.
 */
export function notifyingApprovalStore(store: ApprovalStore, notifier: ApprovalNotifier): ApprovalStore {
  const tell = (type: ApprovalEventType, record: ApprovalRecord): void => {
    try {
      notifier.notify(type, record);
    } catch {
      // The contract says notify never throws; one that does still must not fail the store call.
    }
  };
  return {
    async create(input) {
      const record = await store.create(input);
      tell('approval.requested', record);
      return record;
    },
    get: (id, owner) => store.get(id, owner),
    list: (owner, options) => store.list(owner, options),
    async decide(id, owner, decision) {
      const record = await store.decide(id, owner, decision);
      tell('approval.decided', record);
      return record;
    },
    async claimExpired(limit) {
      const records = await store.claimExpired(limit);
      for (const record of records) tell('approval.expired', record);
      return records;
    },
    nextDeadlineIn: () => store.nextDeadlineIn(),
    wakeups: (options) => store.wakeups(options),
    clearWakeup: (wakeup) => store.clearWakeup(wakeup),
    close: () => store.close(),
  };
}
