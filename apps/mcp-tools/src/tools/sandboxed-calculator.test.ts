import { Worker } from 'node:worker_threads';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { WorkerCalculator } from './sandboxed-calculator.js';

const TIMEOUT_MS = 60_000;

describe('WorkerCalculator.close', () => {
  it('stops a worker that is still starting instead of waiting for it to become ready', async () => {
    // A thread that never reports ready: a close that waited for it would never return.
    let thread: Worker | undefined;
    const calculator = new WorkerCalculator({
      timeoutMs: TIMEOUT_MS,
      spawnWorker: () => (thread = new Worker('setInterval(() => {}, 1_000_000);', { eval: true })),
    });
    const warming = calculator.warm();
    const exited = new Promise<number>((resolve) => thread!.once('exit', resolve));
    await calculator.close();
    // The thread is gone (it would never have ended on its own).
    await expect(exited).resolves.toBeTypeOf('number');
    // Stopped by `close`, the worker did not fail: warming up ends quietly.
    await expect(warming).resolves.toBeUndefined();
    await expect(calculator.calculate('1 + 1')).rejects.toMatchObject({ code: ErrorCode.Unavailable, message: 'The calculator is shutting down' });
  });

  it('fails the evaluation in flight as shutting down, not as an expression that ran out of memory', async () => {
    const calculator = new WorkerCalculator({ timeoutMs: TIMEOUT_MS });
    try {
      await calculator.warm();
      // Seconds of loop in mathjs: still evaluating when `close` ends the worker.
      const inFlight = calculator.calculate('combinations(1000000000, 500000000)');
      const outcome = inFlight.then(
        () => undefined,
        (error: unknown) => error,
      );
      // The call reaches the worker in microtasks (queue, ready worker, postMessage): all run before this.
      await new Promise(setImmediate);
      await calculator.close();
      const error = await outcome;
      expect(error).toBeInstanceOf(EnsembleError);
      expect(error).toMatchObject({ code: ErrorCode.Unavailable, message: 'The calculator is shutting down' });
    } finally {
      await calculator.close();
    }
  });
});
