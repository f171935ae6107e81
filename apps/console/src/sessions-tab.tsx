import { type ReactNode, useCallback, useEffect, useState } from 'react';

import { ErrorMessage } from './app.js';
import { ApiError, type SessionSummary, apiJson } from './api.js';
import { type SessionRow, finishedSessionRow, forgetSessions, isCancellable, knownSessions, mergeSessionRows } from './model/sessions.js';
import type { WorkflowRecord } from './model/workflow-graph.js';

const REFRESH_MS = 5_000;

function when(value: string | number | undefined): string {
  if (value === undefined) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/**
 * A session this console watched that the store no longer lists: finished (its tombstone lets the owner
 * read its event log), or gone (expired, or never this caller's: a 404, forgotten).
 */
async function finishedRow(id: string): Promise<SessionRow | 'gone'> {
  try {
    const page = await apiJson<{ data: WorkflowRecord[] }>(`/v1/sessions/${encodeURIComponent(id)}/events?limit=1000`);
    return finishedSessionRow(id, page.data);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return 'gone';
    throw error;
  }
}

/**
 * The caller's sessions: the running ones from `GET /v1/sessions`, and the finished ones this console
 * started or opened (the store deletes a finished session, leaving a tombstone), read from their logs.
 */
export function SessionsTab({ onOpen }: { onOpen: (sessionId: string) => void }): ReactNode {
  const [sessions, setSessions] = useState<SessionRow[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  const refresh = useCallback(async () => {
    try {
      const listed = (await apiJson<{ data: SessionSummary[] }>('/v1/sessions?limit=100')).data.map(
        (session): SessionRow => ({ id: session.id, status: session.status ?? '—', createdAt: session.created_at, updatedAt: session.updated_at, finished: false }),
      );
      const listedIds = new Set(listed.map((row) => row.id));
      const others = await Promise.all(knownSessions(sessionStorage).filter((id) => !listedIds.has(id)).map(async (id) => ({ id, row: await finishedRow(id) })));
      forgetSessions(sessionStorage, others.filter(({ row }) => row === 'gone').map(({ id }) => id));
      setSessions(mergeSessionRows(listed, others.flatMap(({ row }) => (row === 'gone' ? [] : [row]))));
      setError(undefined);
    } catch (failure) {
      setError(failure);
    }
  }, []);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  async function cancel(sessionId: string) {
    try {
      await apiJson(`/v1/sessions/${encodeURIComponent(sessionId)}`, { method: 'DELETE' });
      await refresh();
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <section aria-label="Sessions">
      <button type="button" onClick={() => void refresh()}>
        Refresh
      </button>
      <ErrorMessage error={error} />
      {sessions === undefined ? null : sessions.length === 0 ? (
        <p>No sessions yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Session</th>
              <th>Status</th>
              <th>Created</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {sessions.map((session) => (
              <tr key={session.id}>
                <td>{session.id}</td>
                <td>{session.finished ? `${session.status} (finished)` : session.status}</td>
                <td>{when(session.createdAt)}</td>
                <td>{when(session.updatedAt)}</td>
                <td>
                  <button type="button" aria-label={`Open ${session.id}`} onClick={() => onOpen(session.id)}>
                    Open
                  </button>{' '}
                  <button type="button" aria-label={`Cancel ${session.id}`} disabled={!isCancellable(session)} onClick={() => void cancel(session.id)}>
                    Cancel
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
