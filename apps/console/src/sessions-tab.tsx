import { type ReactNode, useCallback, useEffect, useState } from 'react';

import { ErrorMessage } from './app.js';
import { type SessionSummary, apiJson } from './api.js';

function when(value: string | number | undefined): string {
  if (value === undefined) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export function SessionsTab({ onOpen }: { onOpen: (sessionId: string) => void }): ReactNode {
  const [sessions, setSessions] = useState<SessionSummary[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  const refresh = useCallback(async () => {
    try {
      setSessions((await apiJson<{ data: SessionSummary[] }>('/v1/sessions')).data);
      setError(undefined);
    } catch (failure) {
      setError(failure);
    }
  }, []);

  useEffect(() => {
    void refresh();
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
                <td>{session.status ?? '—'}</td>
                <td>{when(session.created_at)}</td>
                <td>{when(session.updated_at)}</td>
                <td>
                  <button type="button" onClick={() => onOpen(session.id)}>
                    Open
                  </button>{' '}
                  <button type="button" disabled={session.status !== 'active' && session.status !== 'waiting_approval'} onClick={() => void cancel(session.id)}>
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
