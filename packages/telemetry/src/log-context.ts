import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Correlation ids that every log line written inside a request carries automatically (`request_id`,
 * `session_id`, `task_id`, `context_id`, ...). Set once at the edge; nested scopes add to the outer one.
 */
export type LogContext = Readonly<Record<string, string | number | undefined>>;

const storage = new AsyncLocalStorage<LogContext>();

export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  // Merged with `Object.assign`, not spread: see "Hot paths" in docs/conventions.md.
  return storage.run(Object.assign({}, storage.getStore(), fields), fn);
}

/** Adds fields to the current scope (for ids learned mid-request, like a freshly created session id). */
export function addLogContext(fields: LogContext): void {
  const current = storage.getStore();
  if (current !== undefined) storage.enterWith(Object.assign({}, current, fields));
}

export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}
