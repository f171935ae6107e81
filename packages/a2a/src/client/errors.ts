import type { Task } from '@a2a-js/sdk';
import { A2A_ERROR_CODE, A2AError, TaskNotCancelableError, TaskNotFoundError, isJsonRpcError } from '@a2a-js/sdk/errors';
import { EnsembleError, ErrorCode, withoutAddresses } from '@ensemble/protocol';
import { BrokenCircuitError } from 'cockatiel';

import { partsText } from '../parts.js';

/** Why a call to an agent failed. Branch on this, never on the message. */
export type A2AFailureKind =
  /** The agent could not be reached (connection refused or reset, DNS failure). */
  | 'unreachable'
  /** No answer within the call's timeout (or the stream went quiet for that long). */
  | 'timeout'
  /** The agent's circuit breaker is open after repeated failures: the call was not attempted. */
  | 'circuit_open'
  /** The agent answered 502/503/504 (overloaded, or shutting down and refusing new tasks). */
  | 'unavailable'
  /** The agent refused our credentials (401/403). */
  | 'unauthorized'
  /** The agent does not know the task (expired, or another tenant's). */
  | 'task_not_found'
  /** The task is already final and cannot be canceled. */
  | 'task_not_cancelable'
  /** The agent answered, but not with what A2A promises (or refused the request as malformed). */
  | 'protocol'
  /** The task ended in TASK_STATE_FAILED. */
  | 'task_failed'
  /** The task ended in TASK_STATE_REJECTED (the agent, or a person asked to approve, declined). */
  | 'rejected'
  /** The task ended in TASK_STATE_CANCELED. */
  | 'task_canceled'
  /** The caller aborted the call through its own signal. */
  | 'aborted';

const ENSEMBLE_CODE: Record<A2AFailureKind, ErrorCode> = {
  unreachable: ErrorCode.UpstreamUnavailable,
  timeout: ErrorCode.UpstreamTimeout,
  circuit_open: ErrorCode.UpstreamUnavailable,
  unavailable: ErrorCode.UpstreamUnavailable,
  unauthorized: ErrorCode.UpstreamError,
  task_not_found: ErrorCode.NotFound,
  task_not_cancelable: ErrorCode.Conflict,
  protocol: ErrorCode.UpstreamError,
  task_failed: ErrorCode.UpstreamError,
  rejected: ErrorCode.UpstreamError,
  task_canceled: ErrorCode.Cancelled,
  aborted: ErrorCode.Cancelled,
};

export interface A2AClientErrorOptions {
  agent: string;
  url: string;
  cause?: unknown;
  task?: Task;
  /** JSON-RPC / A2A error code when the agent sent one. */
  rpcCode?: number;
  /** The request may not have reached the agent: repeating it cannot run the work twice. */
  notDelivered?: boolean;
}

/**
 * A failed call to an A2A agent: which agent, where, and why (`kind`). It is an `EnsembleError`, so the
 * gateway renders it with a fitting status (`upstream_unavailable` 503, `upstream_timeout` 504, ...);
 * `wireCode` is `a2a_<kind>`. Its message names the agent and the failure, never the agent's address:
 * messages travel on to clients (a failed node's reason), internal URLs must not. The address is in
 * `url` (and `details.url`), for logs.
 */
export class A2AClientError extends EnsembleError {
  readonly kind: A2AFailureKind;
  readonly agent: string;
  readonly url: string;
  /** The final task, for `task_failed` / `rejected` / `task_canceled`. */
  readonly task: Task | undefined;
  readonly rpcCode: number | undefined;
  readonly notDelivered: boolean;

  constructor(kind: A2AFailureKind, message: string, options: A2AClientErrorOptions) {
    super(ENSEMBLE_CODE[kind], `Agent "${options.agent}": ${withoutAddresses(message)}`, {
      cause: options.cause,
      wireCode: `a2a_${kind}`,
      details: { agent: options.agent, url: options.url, kind, ...(options.task === undefined ? {} : { task_id: options.task.id }) },
    });
    this.kind = kind;
    this.agent = options.agent;
    this.url = options.url;
    this.task = options.task;
    this.rpcCode = options.rpcCode;
    this.notDelivered = options.notDelivered ?? false;
  }
}

/** Type guard, optionally for one failure kind: `if (isA2AClientError(error, 'unreachable')) ...`. */
export function isA2AClientError(value: unknown, kind?: A2AFailureKind): value is A2AClientError {
  return value instanceof A2AClientError && (kind === undefined || value.kind === kind);
}

/** Connection errors raised before the request was written: the agent cannot have seen it. */
const NOT_DELIVERED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
/** Connection errors that may have happened after the request was sent. */
const CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ETIMEDOUT']);

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface Target {
  agent: string;
  url: string;
}

/** Classifies an error thrown by `fetch` (network level) for `target`; `undefined` when it is not one. */
export function networkError(error: unknown, target: Target): A2AClientError | undefined {
  const code = causeCode(error);
  if (code !== undefined && NOT_DELIVERED_CODES.has(code)) {
    return new A2AClientError('unreachable', `cannot connect (${code})`, { ...target, cause: error, notDelivered: true });
  }
  if ((code !== undefined && CONNECTION_CODES.has(code)) || (error instanceof TypeError && /fetch failed|terminated/i.test(error.message))) {
    return new A2AClientError('unreachable', `connection failed${code === undefined ? '' : ` (${code})`}`, { ...target, cause: error });
  }
  return undefined;
}

/** Maps anything a call can throw to an `A2AClientError` for `target`. */
export function toClientError(error: unknown, target: Target): A2AClientError {
  if (error instanceof A2AClientError) return error;
  if (error instanceof BrokenCircuitError) {
    return new A2AClientError('circuit_open', 'circuit breaker is open after repeated failures; not calling until it half-opens', { ...target, cause: error, notDelivered: true });
  }
  if (error instanceof TaskNotFoundError) return new A2AClientError('task_not_found', error.message, { ...target, cause: error, rpcCode: A2A_ERROR_CODE.TASK_NOT_FOUND });
  if (error instanceof TaskNotCancelableError) {
    return new A2AClientError('task_not_cancelable', error.message, { ...target, cause: error, rpcCode: A2A_ERROR_CODE.TASK_NOT_CANCELABLE });
  }
  if (error instanceof A2AError) {
    return new A2AClientError('protocol', error.message, { ...target, cause: error, rpcCode: isJsonRpcError(error) ? error.envelopeCode : undefined });
  }
  const network = networkError(error, target);
  if (network !== undefined) return network;
  const message = error instanceof Error ? error.message : String(error);
  return new A2AClientError('protocol', `unexpected answer: ${message}`, { ...target, cause: error });
}

/** The error for a task that ended badly, or `undefined` when it did not. */
export function taskOutcomeError(task: Task, target: Target, failedState: 'failed' | 'rejected' | 'canceled' | undefined): A2AClientError | undefined {
  if (failedState === undefined) return undefined;
  const reason = partsText(task.status?.message?.parts) || `task ${task.id} ${failedState}`;
  const kind = failedState === 'failed' ? 'task_failed' : failedState === 'rejected' ? 'rejected' : 'task_canceled';
  return new A2AClientError(kind, reason, { ...target, task });
}
