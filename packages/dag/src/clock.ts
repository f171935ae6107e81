import { setTimeout as delay } from 'node:timers/promises';

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

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  },
};
