import { describe, expect, it } from 'vitest';

import { finishedSessionRow, forgetSessions, isCancellable, knownSessions, mergeSessionRows, rememberSession } from './sessions.js';
import type { WorkflowRecord } from './workflow-graph.js';

const records: WorkflowRecord[] = [
  { position: 1, at: '2026-12-06T01:00:00.000Z', kind: 'turn', state: 'started', turn: 1 },
  { position: 2, at: '2026-12-06T01:00:01.000Z', kind: 'progress', event: { type: 'node_started', node: 'a' } },
  { position: 3, at: '2026-12-06T01:00:02.000Z', kind: 'turn', state: 'paused', turn: 1 },
  { position: 4, at: '2026-12-06T01:05:00.000Z', kind: 'turn', state: 'started', turn: 2 },
  { position: 5, at: '2026-12-06T01:05:03.000Z', kind: 'answer', text: 'Done' },
  { position: 6, at: '2026-12-06T01:05:04.000Z', kind: 'turn', state: 'completed', turn: 2 },
];

class MemoryStorage {
  readonly #items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.#items.set(key, value);
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
}

describe('finished sessions from their event log', () => {
  it('takes the status of the last ended turn, created from the first record and updated from the last', () => {
    expect(finishedSessionRow('s1', records)).toEqual({ id: 's1', status: 'completed', finished: true, createdAt: '2026-12-06T01:00:00.000Z', updatedAt: '2026-12-06T01:05:04.000Z' });
  });

  it('says only "finished" when no turn ended, and never offers to cancel a finished session', () => {
    const row = finishedSessionRow('s2', records.slice(0, 2));
    expect(row.status).toBe('finished');
    expect(isCancellable(row)).toBe(false);
    expect(isCancellable({ id: 's3', status: 'waiting_approval', finished: false })).toBe(true);
    expect(isCancellable({ id: 's4', status: 'completed', finished: false })).toBe(false);
  });

  it('lists the store rows first, then finished ones not in the store, newest first', () => {
    const listed = [{ id: 'live', status: 'active', finished: false }];
    const older = { id: 'old', status: 'completed', finished: true, updatedAt: '2026-12-06T01:00:00.000Z' };
    const newer = { id: 'new', status: 'failed', finished: true, updatedAt: '2026-12-06T02:00:00.000Z' };
    const duplicate = { id: 'live', status: 'completed', finished: true };
    expect(mergeSessionRows(listed, [older, duplicate, newer]).map((row) => row.id)).toEqual(['live', 'new', 'old']);
  });
});

describe('the sessions this console knows', () => {
  it('remembers ids newest first without duplicates, and forgets some or all', () => {
    const storage = new MemoryStorage();
    expect(knownSessions(storage)).toEqual([]);
    rememberSession(storage, 'a');
    rememberSession(storage, 'b');
    rememberSession(storage, 'a');
    expect(knownSessions(storage)).toEqual(['a', 'b']);
    forgetSessions(storage, ['a']);
    expect(knownSessions(storage)).toEqual(['b']);
    forgetSessions(storage);
    expect(knownSessions(storage)).toEqual([]);
  });

  it('reads a corrupt entry as none', () => {
    const storage = new MemoryStorage();
    storage.setItem('ensemble.console.sessions', '{not json');
    expect(knownSessions(storage)).toEqual([]);
  });
});
