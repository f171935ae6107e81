import { parentPort } from 'node:worker_threads';

import { EnsembleError } from '@ensemble/protocol';

import { calculate } from './math.js';
import type { CalculatorReply, CalculatorRequest } from './sandboxed-calculator.js';

/**
 * The calculator's worker thread: evaluates one expression per message, so a runaway evaluation blocks
 * only this thread and `WorkerCalculator` can terminate it.
 */
if (parentPort === null) throw new Error('calculator-worker.ts runs as a worker thread');
const port = parentPort;

port.on('message', (request: CalculatorRequest) => {
  let reply: CalculatorReply;
  try {
    reply = { id: request.id, result: calculate(request.expression) };
  } catch (error) {
    reply = EnsembleError.is(error)
      ? { id: request.id, error: { code: error.code, message: error.message } }
      : { id: request.id, error: { code: 'internal', message: error instanceof Error ? error.message : String(error) } };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true });
