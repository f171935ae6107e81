import { type ReactNode, useCallback, useEffect, useState } from 'react';

import { ErrorMessage } from './app.js';
import { type Approval, ApiError, apiJson } from './api.js';
import { checkArgumentsText } from './model/json-schema.js';

const PENDING_POLL_MS = 3_000;

async function listApprovals(status: string): Promise<Approval[]> {
  return (await apiJson<{ data: Approval[] }>(`/v1/approvals?status=${status}&limit=100`)).data;
}

/** The badge's count, refreshed while the console is open; a gateway without approvals counts 0. */
export function usePendingApprovalCount(): number {
  const [count, setCount] = useState(0);
  useEffect(() => {
    let stopped = false;
    const refresh = () => {
      listApprovals('pending')
        .then((pending) => {
          if (!stopped) setCount(pending.length);
        })
        .catch(() => undefined);
    };
    refresh();
    const timer = setInterval(refresh, PENDING_POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  return count;
}

function timeLeft(expiresAt: string, now: number): string {
  const seconds = Math.max(0, Math.round((Date.parse(expiresAt) - now) / 1_000));
  if (seconds === 0) return 'expired';
  if (seconds >= 3_600) return `${Math.floor(seconds / 3_600)} h ${Math.floor((seconds % 3_600) / 60)} min left`;
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s left` : `${seconds} s left`;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((item) => show(item)).join('; ');
  return JSON.stringify(value);
}

function PendingApproval({ approval, now, onDecided }: { approval: Approval; now: number; onDecided: () => void }): ReactNode {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(JSON.stringify(approval.arguments ?? {}, null, 2));
  const [answer, setAnswer] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(undefined);

  async function decide(body: Record<string, unknown>) {
    setError(undefined);
    try {
      await apiJson(`/v1/approvals/${encodeURIComponent(approval.id)}`, { method: 'POST', body });
      onDecided();
    } catch (failure) {
      setError(failure instanceof ApiError && failure.status === 409 ? new Error('Already decided (by someone else or by expiry)') : failure);
    }
  }

  const approveEdited = () => {
    const checked = checkArgumentsText(text, approval.arguments_schema);
    setProblems(checked.problems);
    if (checked.problems.length === 0) void decide({ decision: 'approve', arguments: checked.value });
  };

  return (
    <article className="card" aria-label={`Approval ${approval.action}`}>
      <h3>{approval.action}</h3>
      <p className="meta">
        {approval.agent} · node {approval.node_id} · session {approval.session_id} · <span className="deadline">{timeLeft(approval.expires_at, now)}</span>
      </p>
      <dl>
        <dt>Reason</dt>
        <dd>{show(approval.reason)}</dd>
        <dt>Risks</dt>
        <dd>{show(approval.risks)}</dd>
        <dt>Impact</dt>
        <dd>{show(approval.impact)}</dd>
        {approval.question === null ? null : (
          <>
            <dt>Question</dt>
            <dd>{approval.question}</dd>
          </>
        )}
      </dl>
      <h4>Arguments</h4>
      {editing ? (
        <>
          <textarea aria-label="Arguments JSON" rows={8} style={{ width: '100%', fontFamily: 'monospace' }} value={text} onChange={(event) => setText(event.target.value)} />
          {problems.map((problem) => (
            <p className="error" role="alert" key={problem}>
              {problem}
            </p>
          ))}
          <button type="button" onClick={approveEdited}>
            Approve with these arguments
          </button>{' '}
          <button type="button" onClick={() => setEditing(false)}>
            Cancel edit
          </button>
        </>
      ) : (
        <pre>{JSON.stringify(approval.arguments, null, 2)}</pre>
      )}
      {approval.kind === 'input' ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void decide({ answer });
          }}
        >
          <input aria-label="Answer" value={answer} onChange={(event) => setAnswer(event.target.value)} /> <button type="submit">Send answer</button>
        </form>
      ) : editing ? null : (
        <div>
          <button type="button" onClick={() => void decide({ decision: 'approve' })}>
            Approve
          </button>{' '}
          <button type="button" onClick={() => void decide({ decision: 'reject' })}>
            Reject
          </button>{' '}
          <button type="button" onClick={() => setEditing(true)}>
            Edit
          </button>
        </div>
      )}
      <ErrorMessage error={error} />
    </article>
  );
}

export function ApprovalsTab(): ReactNode {
  const [view, setView] = useState<'Pending' | 'History'>('Pending');
  const [items, setItems] = useState<Approval[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [now, setNow] = useState(() => Date.now());

  const refresh = useCallback(async () => {
    try {
      const list =
        view === 'Pending' ? await listApprovals('pending') : (await Promise.all(['approved', 'rejected', 'expired'].map((status) => listApprovals(status)))).flat().sort((a, b) => (b.decided_at ?? '').localeCompare(a.decided_at ?? ''));
      setItems(list);
      setError(undefined);
    } catch (failure) {
      setError(failure);
    }
  }, [view]);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => {
      setNow(Date.now());
      void refresh();
    }, PENDING_POLL_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  return (
    <section aria-label="Approvals">
      <div role="tablist" aria-label="Approval views">
        {(['Pending', 'History'] as const).map((name) => (
          <button key={name} role="tab" aria-selected={view === name} onClick={() => setView(name)}>
            {name}
          </button>
        ))}
      </div>
      <ErrorMessage error={error} />
      {view === 'Pending' ? (
        <div className="cards">
          {items.length === 0 ? <p>No approval is waiting.</p> : null}
          {items.map((approval) => (
            <PendingApproval key={approval.id} approval={approval} now={now} onDecided={() => void refresh()} />
          ))}
        </div>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Action</th>
              <th>Status</th>
              <th>Decided by</th>
              <th>Decided at</th>
              <th>Comment</th>
              <th>Arguments</th>
            </tr>
          </thead>
          <tbody>
            {items.map((approval) => (
              <tr key={approval.id}>
                <td>{approval.action}</td>
                <td>{approval.status}</td>
                <td>{approval.decided_by ?? '—'}</td>
                <td>{approval.decided_at ?? '—'}</td>
                <td>{approval.comment ?? '—'}</td>
                <td>
                  <code>{JSON.stringify(approval.arguments)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
