import { getEventListeners } from 'node:events';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { systemClock } from './clock.js';

describe('systemClock.sleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves once its time has passed, and lets go of the signal', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    let slept = false;
    const sleeping = systemClock.sleep(20, controller.signal).then(() => (slept = true));
    await vi.advanceTimersByTimeAsync(19);
    expect(slept).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(slept).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the signal’s own reason when aborted first, or already aborted', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const reason = new Error('stop');
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
    await expect(systemClock.sleep(10, AbortSignal.abort('already'))).rejects.toBe('already');
  });
});
