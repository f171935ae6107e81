import type { WorkflowRecord } from './workflow-graph.js';

/** One row of the Sessions tab. `finished` rows come from the event log: the store keeps only a tombstone. */
export interface SessionRow {
  id: string;
  status: string;
  createdAt?: string | number;
  updatedAt?: string | number;
  finished: boolean;
}

/** Session statuses that can still be cancelled (`DELETE /v1/sessions/{id}`). */
const CANCELLABLE = new Set(['active', 'waiting_approval']);

export function isCancellable(row: SessionRow): boolean {
  return !row.finished && CANCELLABLE.has(row.status);
}

/**
 * A finished session's row from its event log (`GET /v1/sessions/{id}/events`, readable by its owner
 * while the tombstone lasts): created at the first record, updated at the last, and the status of the
 * last turn that ended (`completed`, `failed`, `rejected`, `cancelled`, ...). A log without an ended
 * turn says only `finished`.
 */
export function finishedSessionRow(id: string, records: readonly WorkflowRecord[]): SessionRow {
  const ended = records.filter((record): record is WorkflowRecord & { kind: 'turn' } => record.kind === 'turn' && record.state !== 'started').at(-1);
  const first = records.find((record) => record.kind !== 'truncated');
  const last = records.filter((record) => record.kind !== 'truncated').at(-1);
  return {
    id,
    status: ended?.state ?? 'finished',
    finished: true,
    ...(first === undefined ? {} : { createdAt: first.at }),
    ...(last === undefined ? {} : { updatedAt: last.at }),
  };
}

/** Store rows first (newest first, as listed), then finished ones the console watched, newest first. */
export function mergeSessionRows(listed: readonly SessionRow[], finished: readonly SessionRow[]): SessionRow[] {
  const ids = new Set(listed.map((row) => row.id));
  const extra = finished.filter((row) => !ids.has(row.id)).sort((a, b) => String(b.updatedAt ?? '').localeCompare(String(a.updatedAt ?? '')));
  return [...listed, ...extra];
}

const KNOWN_KEY = 'ensemble.console.sessions';
const MAX_KNOWN = 50;

/** Session ids this console started or opened (newest first), so finished ones stay listed after the store drops them. */
export function knownSessions(storage: Pick<Storage, 'getItem'>): string[] {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(KNOWN_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberSession(storage: Pick<Storage, 'getItem' | 'setItem'>, id: string): void {
  storage.setItem(KNOWN_KEY, JSON.stringify([id, ...knownSessions(storage).filter((known) => known !== id)].slice(0, MAX_KNOWN)));
}

export function forgetSessions(storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>, ids?: readonly string[]): void {
  if (ids === undefined) storage.removeItem(KNOWN_KEY);
  else storage.setItem(KNOWN_KEY, JSON.stringify(knownSessions(storage).filter((known) => !ids.includes(known))));
}
