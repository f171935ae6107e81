import { type ResourceLimits, Worker } from 'node:worker_threads';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';

import { type CalculationResult, calculate } from './math.js';

/** Evaluates calculator expressions (see `calculate` in `math.ts` for what an expression may hold). */
export interface Calculator {
  calculate(expression: string): Promise<CalculationResult>;
}

/** In the caller's thread, without a time limit: for tests of the tool surface. */
export const inProcessCalculator: Calculator = {
  calculate: (expression) => Promise.resolve().then(() => calculate(expression)),
};

/** Messages between `WorkerCalculator` and `calculator-worker.ts`. */
export interface CalculatorRequest {
  id: number;
  expression: string;
}
export type CalculatorReply = { id: number; result: CalculationResult } | { id: number; error: { code: string; message: string } };

export interface WorkerCalculatorOptions {
  /** Longest an evaluation may run before the worker is stopped. */
  timeoutMs: number;
  /** Heap of the worker: an expression that allocates past it fails alone. Default 128 MiB. */
  maxHeapMb?: number;
  /** Spawns the thread; its first message means it is ready. Default: `calculator-worker`. */
  spawnWorker?: (resourceLimits: ResourceLimits) => Worker;
  logger?: Logger;
}

const ERROR_CODES = new Set<string>(Object.values(ErrorCode));

/** A worker thread from the moment it is spawned, and the promise of its first message (mathjs loaded). */
interface StartingWorker {
  thread: Worker;
  ready: Promise<Worker>;
}

/**
 * The calculator the server uses: expressions are evaluated in a worker thread with a time and a heap
 * limit. mathjs evaluates synchronously and some of its functions loop over their arguments
 * (`combinations(1e9, 5e8)`, `isPrime` of a large prime): in the server's own thread one such expression
 * would stall every other tool call for seconds or minutes. Here it costs its caller a clear error after
 * `timeoutMs`; the worker is terminated and a fresh one serves the next call. Calls run one at a time,
 * in order (an evaluation is CPU-bound: more at once would not finish sooner).
 */
export class WorkerCalculator implements Calculator {
  /** The worker being started or serving; cleared when it fails to start or is stopped. */
  #worker: StartingWorker | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #closed = false;

  constructor(private readonly options: WorkerCalculatorOptions) {}

  /** Starts the worker now, so the first call does not wait for mathjs to load. */
  async warm(): Promise<void> {
    // A worker that `close` stopped while it was loading did not fail: it was not wanted any more.
    await this.#ready().catch((error: unknown) => {
      if (!this.#closed) throw error;
    });
  }

  calculate(expression: string): Promise<CalculationResult> {
    const evaluation = this.#queue.then(() => this.#evaluate(expression));
    this.#queue = evaluation.catch(() => undefined);
    return evaluation;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const current = this.#worker;
    this.#worker = undefined;
    // Not waiting for a worker that is still loading mathjs (seconds through tsx on a busy machine):
    // shutdown would outlast its grace period and end in a SIGKILL.
    await current?.thread.terminate();
  }

  async #evaluate(expression: string): Promise<CalculationResult> {
    // Refused once closed: `#ready` starts no worker then.
    const worker = await this.#ready();
    const id = this.#nextId++;
    return new Promise<CalculationResult>((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        outcome();
      };
      const onMessage = (reply: CalculatorReply) => {
        if (reply.id !== id) return;
        settle(() => ('result' in reply ? resolve(reply.result) : reject(toEnsembleError(reply.error))));
      };
      // The heap limit ends the worker (the expression allocated too much), and so does `close`.
      const onExit = () => {
        this.#discard();
        settle(() =>
          reject(
            this.#closed
              ? shuttingDown()
              : new EnsembleError(ErrorCode.InvalidRequest, 'The expression needs more memory than the calculator allows; use smaller numbers or matrices', { wireCode: 'calculation_too_large' }),
          ),
        );
      };
      const timer = setTimeout(() => {
        this.#discard();
        void worker.terminate();
        this.options.logger?.warn({ timeout_ms: this.options.timeoutMs, expression_chars: expression.length }, 'calculator evaluation stopped at its time limit');
        settle(() =>
          reject(
            new EnsembleError(ErrorCode.InvalidRequest, `The expression took longer than ${this.options.timeoutMs} ms to evaluate and was stopped; use smaller numbers or fewer operations`, {
              wireCode: 'calculation_too_slow',
            }),
          ),
        );
      }, this.options.timeoutMs);
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      worker.postMessage({ id, expression } satisfies CalculatorRequest);
    });
  }

  #ready(): Promise<Worker> {
    if (this.#closed) return Promise.reject(shuttingDown());
    if (this.#worker === undefined) {
      const resourceLimits = { maxOldGenerationSizeMb: this.options.maxHeapMb ?? 128 };
      const starting = startWorker((this.options.spawnWorker ?? spawnCalculatorWorker)(resourceLimits), this.options.logger);
      this.#worker = starting;
      // A worker that failed to start is not kept: the next call tries again.
      starting.ready.catch(() => {
        if (this.#worker === starting) this.#worker = undefined;
      });
    }
    return this.#worker.ready;
  }

  /**
   * The next call starts a new worker. Calls run one at a time, so the worker of the call in flight is
   * the one `#worker` holds.
   */
  #discard(): void {
    this.#worker = undefined;
  }
}

function shuttingDown(): EnsembleError {
  return new EnsembleError(ErrorCode.Unavailable, 'The calculator is shutting down');
}

function toEnsembleError(error: { code: string; message: string }): EnsembleError {
  return new EnsembleError(ERROR_CODES.has(error.code) ? (error.code as ErrorCode) : ErrorCode.Internal, error.message);
}

/**
 * Compiled (the image's build step writes `calculator-worker.js` beside this module), the worker
 * starts from that file. From source, the worker loads its entry through tsx's API: a worker thread
 * inherits tsx's loader on Node 24, but the process may not run under it at all (vitest compiles the
 * modules it tests its own way).
 */
function spawnCalculatorWorker(resourceLimits: ResourceLimits): Worker {
  return import.meta.url.endsWith('.js')
    ? new Worker(new URL('./calculator-worker.js', import.meta.url), { resourceLimits })
    : new Worker(tsxWorkerSource(), { eval: true, resourceLimits });
}

function startWorker(worker: Worker, logger: Logger | undefined): StartingWorker {
  // An idle calculator must not keep the process alive.
  worker.unref();
  const ready = new Promise<Worker>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the calculator worker exited with code ${code} before it was ready`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', () => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      // An error in the worker ends it: its `exit` fails the call in flight. Unhandled, it would end the server.
      worker.on('error', (error) => logger?.warn({ err: error }, 'calculator worker failed'));
      resolve(worker);
    });
  });
  return { thread: worker, ready };
}

function tsxWorkerSource(): string {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./calculator-worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}))`;
}
