/**
 * Time, injected so retries, backoff and timeouts are testable without real timers
 * (`ManualClock` in `@ensemble/dag/testing`).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** What an aborted signal carries: an `Error` by convention (`abort()` makes a DOMException), though any value is allowed. */
const reasonOf = (signal: AbortSignal): Error => signal.reason as Error;

export const systemClock: Clock = {
  now: () => Date.now(),
  // A plain timer rather than `timers/promises`: that one rejects with a new `AbortError` (a stack
  // captured) every time a node's timeout timer is cleared, which is once per node attempt.
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(reasonOf(signal));
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        if (signal !== undefined) reject(reasonOf(signal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
