import { EnsembleError, ErrorCode } from '@ensemble/protocol';

import type { LeaseOptions, SessionLease, SessionStore } from './session-store.js';

/** What a store provides to back a lease: token-checked renew and release. */
export interface LeaseBackend {
  /** Extends the lock if it still holds `token`; false when it does not. */
  renew(token: string, ttlMs: number): Promise<boolean>;
  /** Deletes the lock if it still holds `token`. */
  release(token: string): Promise<void>;
}

interface ManagedLeaseOptions {
  autoRenew: boolean;
  onRenew: (() => void) | undefined;
  now: () => number;
}

/** The `SessionLease` both stores hand out: renewal bookkeeping, auto-renew timer and the `lost` signal. */
export class ManagedLease implements SessionLease {
  readonly sessionId: string;
  readonly token: string;
  readonly fencingToken: number;
  readonly ttlMs: number;
  readonly #backend: LeaseBackend;
  readonly #options: ManagedLeaseOptions;
  readonly #lost = new AbortController();
  #expiresAt: number;
  #timer: NodeJS.Timeout | undefined;
  #released = false;

  constructor(sessionId: string, token: string, fencingToken: number, ttlMs: number, backend: LeaseBackend, options: ManagedLeaseOptions) {
    this.sessionId = sessionId;
    this.token = token;
    this.fencingToken = fencingToken;
    this.ttlMs = ttlMs;
    this.#backend = backend;
    this.#options = options;
    this.#expiresAt = options.now() + ttlMs;
    if (options.autoRenew) {
      // A third of the TTL leaves two more chances if one renewal hits a transient failure.
      this.#timer = setInterval(() => void this.#autoRenew(), Math.max(1, Math.floor(ttlMs / 3)));
      this.#timer.unref();
    }
  }

  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  async renew(): Promise<void> {
    if (this.#lost.signal.aborted) throw this.#lost.signal.reason as EnsembleError;
    if (this.#released) throw new EnsembleError(ErrorCode.Conflict, `Lease on session ${this.sessionId} was released`);
    const renewedAt = this.#options.now();
    if (!(await this.#backend.renew(this.token, this.ttlMs))) {
      const error = new EnsembleError(ErrorCode.Conflict, `Lease on session ${this.sessionId} was lost`);
      this.#markLost(error);
      throw error;
    }
    this.#expiresAt = renewedAt + this.ttlMs;
    this.#options.onRenew?.();
  }

  async release(): Promise<void> {
    this.#stopTimer();
    if (this.#released) return;
    this.#released = true;
    if (!this.#lost.signal.aborted) await this.#backend.release(this.token);
  }

  async #autoRenew(): Promise<void> {
    try {
      await this.renew();
    } catch (error) {
      // Not necessarily lost (the backend may be briefly down), unless it must have expired by now.
      if (!this.#lost.signal.aborted && this.#options.now() >= this.#expiresAt) {
        this.#markLost(new EnsembleError(ErrorCode.Conflict, `Lease on session ${this.sessionId} expired: renewal failed`, { cause: error }));
      }
    }
  }

  #markLost(error: EnsembleError): void {
    this.#stopTimer();
    if (!this.#lost.signal.aborted) this.#lost.abort(error);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** Polls `attempt` with capped exponential backoff until it succeeds or `waitMs` runs out. */
export async function acquireWithin(waitMs: number, attempt: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (let round = 0; ; round += 1) {
    if (await attempt()) return true;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return false;
    const backoff = Math.min(500, 10 * 2 ** round) * (0.5 + Math.random() / 2);
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(remaining, backoff)));
  }
}

/**
 * `SessionStore.withLock` for every implementation: acquire (auto-renewing unless told otherwise), run,
 * and release even when `fn` throws.
 */
export async function withLease<T>(
  store: Pick<SessionStore, 'acquireLease'>,
  id: string,
  owner: string,
  fn: (lease: SessionLease) => Promise<T>,
  options: LeaseOptions = {},
): Promise<T> {
  const lease = await store.acquireLease(id, owner, { ...options, autoRenew: options.autoRenew ?? true });
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}
