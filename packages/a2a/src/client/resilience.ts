import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  type IPolicy,
  circuitBreaker,
  handleWhen,
  noJitterGenerator,
  noop,
  retry,
} from 'cockatiel';

import { A2AClientError, type A2AFailureKind } from './errors.js';

export interface RetryOptions {
  /** Attempts in total, the first included. Default 3. */
  maxAttempts?: number;
  /** First backoff delay; later ones grow exponentially with decorrelated jitter. Default 100 ms. */
  initialDelayMs?: number;
  /** Cap on one backoff delay. Default 2 s. */
  maxDelayMs?: number;
}

export interface BreakerOptions {
  /** Consecutive failures (unreachable, timeout, unavailable) that open the circuit. Default 5. */
  consecutiveFailures?: number;
  /**
   * How long the circuit stays open before one trial call is let through: `firstHalfOpenAfterMs` the
   * first time, doubling each time the trial fails too, up to this. Default 10 s.
   */
  halfOpenAfterMs?: number;
  /**
   * The first open period. Default 1 s (or `halfOpenAfterMs` when shorter): an agent that restarts in a
   * few seconds is called again soon after it is back, while one that stays down is tried ever less often.
   */
  firstHalfOpenAfterMs?: number;
}

/** Failures that say something about the agent's health (not about the request or the task). */
const BREAKER_KINDS: ReadonlySet<A2AFailureKind> = new Set(['unreachable', 'timeout', 'unavailable']);

const breakers = new Map<string, CircuitBreakerPolicy>();

/** Breakers are per agent, keyed by origin: every client of the same agent in this process shares one. */
function breakerKey(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/**
 * The process-wide circuit breaker of the agent at `url` (created on first use with `options`; later
 * callers share it whatever options they pass).
 */
export function agentBreaker(url: string, options: BreakerOptions = {}): CircuitBreakerPolicy {
  const key = breakerKey(url);
  let breaker = breakers.get(key);
  if (breaker === undefined) {
    const maxDelay = options.halfOpenAfterMs ?? 10_000;
    const initialDelay = Math.min(options.firstHalfOpenAfterMs ?? 1_000, maxDelay);
    breaker = circuitBreaker(
      handleWhen((error) => error instanceof A2AClientError && BREAKER_KINDS.has(error.kind)),
      {
        // Exact (unjittered) periods: callers already jitter their own retries.
        halfOpenAfter: new ExponentialBackoff({ initialDelay, maxDelay, generator: noJitterGenerator }),
        breaker: new ConsecutiveBreaker(options.consecutiveFailures ?? 5),
      },
    );
    breakers.set(key, breaker);
  }
  return breaker;
}

export type AgentCircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/** State of the agent's breaker in this process (`closed` when no call was made yet). */
export function agentCircuitState(url: string): AgentCircuitState {
  const breaker = breakers.get(breakerKey(url));
  switch (breaker?.state) {
    case undefined:
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Isolated:
      return 'isolated';
  }
}

/** Forgets every breaker (tests, or an operator's "reset"). */
export function resetAgentBreakers(): void {
  breakers.clear();
}

/** The retry policy for one kind of call: only errors `retryable` accepts are retried. */
export function retryPolicy(
  options: RetryOptions | false,
  retryable: (error: A2AClientError) => boolean,
  onRetry?: (event: { error: A2AClientError; attempt: number; delayMs: number }) => void,
): IPolicy {
  if (options === false || (options.maxAttempts ?? 3) <= 1) return noop;
  const policy = retry(
    handleWhen((error) => error instanceof A2AClientError && retryable(error)),
    {
      // cockatiel counts retries, not attempts.
      maxAttempts: (options.maxAttempts ?? 3) - 1,
      backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 100, maxDelay: options.maxDelayMs ?? 2_000 }),
    },
  );
  if (onRetry !== undefined) {
    policy.onRetry((event) => {
      if ('error' in event && event.error instanceof A2AClientError) onRetry({ error: event.error, attempt: event.attempt, delayMs: event.delay });
    });
  }
  return policy;
}

/**
 * Safe to repeat for anything, `SendMessage` included: the request never reached the agent, or the
 * agent explicitly refused it before creating a task (a draining replica's 503).
 */
export function retryableBeforeTask(error: A2AClientError): boolean {
  return error.notDelivered && (error.kind === 'unreachable' || error.kind === 'unavailable');
}

/** Safe to repeat for reads (`GetTask`, card fetch): any transient failure. */
export function retryableRead(error: A2AClientError): boolean {
  return error.kind === 'unreachable' || error.kind === 'timeout' || error.kind === 'unavailable';
}
