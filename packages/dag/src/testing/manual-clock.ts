import type { Clock } from '../clock.js';

interface Sleeper {
  due: number;
  order: number;
  resolve: () => void;
}

export interface ManualClockOptions {
  /** Start time in ms since the epoch. */
  start?: number;
  /**
   * When true, time jumps to the next sleeper's due time as soon as everything else has settled (checked
   * on the next macrotask turn), so a run with backoff and timeouts finishes instantly in virtual time.
   * When false, only `advance()` moves time.
   */
  autoAdvance?: boolean;
}

/**
 * A `Clock` whose time only moves when told to (or, with `autoAdvance`, when nothing else can happen).
 * Sleepers wake in due-time order; an aborted sleep is forgotten.
 */
export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  #sleepers = new Set<Sleeper>();
  #autoAdvance: boolean;
  #checkScheduled = false;
  #waiters: { test: (pending: number[]) => boolean; resolve: () => void }[] = [];

  constructor(options: ManualClockOptions = {}) {
    this.#now = options.start ?? Date.UTC(2025, 0, 1);
    this.#autoAdvance = options.autoAdvance ?? false;
  }

  now(): number {
    return this.#now;
  }

  /** Sleepers currently waiting, as remaining milliseconds. */
  get pending(): number[] {
    return [...this.#sleepers].map((sleeper) => sleeper.due - this.#now);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = { due: this.#now + Math.max(0, ms), order: this.#order++, resolve: () => resolve() };
      this.#sleepers.add(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.#sleepers.delete(sleeper)) return;
          this.#notifyWaiters();
          reject(abortError(signal));
        },
        { once: true },
      );
      this.#notifyWaiters();
      this.#scheduleCheck();
    });
  }

  /** Moves time forward by `ms`, waking every sleeper due by then, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#earliest();
      if (next === undefined || next.due > target) break;
      this.#wake(next);
      // Let the woken code run (and perhaps sleep again) before looking for the next sleeper.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.#now = target;
  }

  /**
   * Resolves once the waiting sleepers (as remaining milliseconds, see `pending`) satisfy `condition`:
   * a number means "at least that many sleepers".
   */
  waitForSleepers(condition: number | ((pending: number[]) => boolean) = 1): Promise<void> {
    const test = typeof condition === 'number' ? (pending: number[]) => pending.length >= condition : condition;
    if (test(this.pending)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  #earliest(): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const sleeper of this.#sleepers) if (best === undefined || sleeper.due < best.due || (sleeper.due === best.due && sleeper.order < best.order)) best = sleeper;
    return best;
  }

  #wake(sleeper: Sleeper): void {
    this.#sleepers.delete(sleeper);
    this.#now = Math.max(this.#now, sleeper.due);
    sleeper.resolve();
    this.#notifyWaiters();
  }

  #notifyWaiters(): void {
    const pending = this.pending;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.test(pending)) return true;
      waiter.resolve();
      return false;
    });
  }

  #scheduleCheck(): void {
    if (!this.#autoAdvance || this.#checkScheduled) return;
    this.#checkScheduled = true;
    // A macrotask turn runs only after every pending microtask: if a sleeper is still waiting then,
    // nothing else is going to happen before it is due, so jumping ahead is safe.
    setImmediate(() => {
      this.#checkScheduled = false;
      const next = this.#earliest();
      if (next === undefined) return;
      this.#wake(next);
      if (this.#sleepers.size > 0) this.#scheduleCheck();
    });
  }
}

/** The signal's reason when it is an Error (as `AbortSignal.abort()` and our engine give), else an AbortError. */
function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}
