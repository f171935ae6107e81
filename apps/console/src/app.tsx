import { type ReactNode, useCallback, useEffect, useState } from 'react';

import { AgentsTab } from './agents-tab.js';
import { ApiError, apiJson, consoleConfig, storeToken, storedToken } from './api.js';
import { ApprovalsTab, usePendingApprovalCount } from './approvals-tab.js';
import { ChatTab } from './chat-tab.js';
import { forgetSessions, rememberSession } from './model/sessions.js';
import { SessionsTab } from './sessions-tab.js';
import { WorkflowsTab } from './workflows-tab.js';

const TABS = ['Chat', 'Workflows', 'Approvals', 'Sessions', 'Agents'] as const;
type Tab = (typeof TABS)[number];

export function ErrorMessage({ error }: { error: unknown }): ReactNode {
  if (error === undefined || error === null) return null;
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

const VIEW_KEY = 'ensemble.console.view';

/** `#/sessions/{id}` opens that session in the Workflows tab: a link another person (or a reload) can follow. */
const SESSION_HASH = /^#\/sessions\/([^/?#]+)$/;

export function sessionFromHash(hash: string): string | undefined {
  const match = SESSION_HASH.exec(hash);
  if (match?.[1] === undefined) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

function restoredView(): { tab: Tab; session?: string } {
  const linked = sessionFromHash(window.location.hash);
  if (linked !== undefined) return { tab: 'Workflows', session: linked };
  try {
    const saved = JSON.parse(sessionStorage.getItem(VIEW_KEY) ?? '{}') as { tab?: string; session?: string };
    const tab = TABS.find((name) => name === saved.tab) ?? 'Chat';
    return typeof saved.session === 'string' ? { tab, session: saved.session } : { tab };
  } catch {
    return { tab: 'Chat' };
  }
}

type AuthState = { phase: 'loading' } | { phase: 'signed-out'; error?: string } | { phase: 'ready'; authRequired: boolean } | { phase: 'failed'; error: string };

export function App(): ReactNode {
  const [auth, setAuth] = useState<AuthState>({ phase: 'loading' });
  // The open tab and watched session survive a reload (the graph is then rebuilt from the session's log).
  const [tab, setTab] = useState<Tab>(() => restoredView().tab);
  const [watchedSession, setWatchedSession] = useState<string | undefined>(() => restoredView().session);
  useEffect(() => {
    sessionStorage.setItem(VIEW_KEY, JSON.stringify({ tab, session: watchedSession }));
    // Watched sessions stay in the Sessions tab after they finish (the store then keeps only a tombstone).
    if (watchedSession !== undefined) rememberSession(sessionStorage, watchedSession);
    const hash = tab === 'Workflows' && watchedSession !== undefined ? `#/sessions/${encodeURIComponent(watchedSession)}` : '';
    if (window.location.hash !== hash) window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}${hash}`);
  }, [tab, watchedSession]);
  useEffect(() => {
    const follow = () => {
      const linked = sessionFromHash(window.location.hash);
      if (linked === undefined) return;
      setWatchedSession(linked);
      setTab('Workflows');
    };
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);

  useEffect(() => {
    consoleConfig()
      .then((config) => setAuth(!config.authRequired || storedToken() !== undefined ? { phase: 'ready', authRequired: config.authRequired } : { phase: 'signed-out' }))
      .catch((error: unknown) => setAuth({ phase: 'failed', error: error instanceof Error ? error.message : String(error) }));
  }, []);

  const signIn = useCallback(async (token: string) => {
    storeToken(token);
    forgetSessions(sessionStorage);
    try {
      // A cheap authenticated call proves the token before the tabs appear.
      await apiJson('/v1/agents');
      setAuth({ phase: 'ready', authRequired: true });
    } catch (error) {
      storeToken(undefined);
      setAuth({ phase: 'signed-out', error: error instanceof ApiError ? error.message : String(error) });
    }
  }, []);

  const signOut = useCallback(() => {
    storeToken(undefined);
    forgetSessions(sessionStorage);
    setAuth({ phase: 'signed-out' });
  }, []);

  const openSession = useCallback((sessionId: string) => {
    setWatchedSession(sessionId);
    setTab('Workflows');
  }, []);

  if (auth.phase === 'loading') return <p>Loading…</p>;
  if (auth.phase === 'failed') return <ErrorMessage error={auth.error} />;
  if (auth.phase === 'signed-out') return <SignIn error={auth.error} onSignIn={signIn} />;
  return <Shell tab={tab} onTab={setTab} authRequired={auth.authRequired} onSignOut={signOut} watchedSession={watchedSession} onSession={setWatchedSession} onOpenSession={openSession} />;
}

function SignIn({ error, onSignIn }: { error?: string; onSignIn: (token: string) => Promise<void> }): ReactNode {
  const [token, setToken] = useState('');
  return (
    <form
      className="signin"
      onSubmit={(event) => {
        event.preventDefault();
        void onSignIn(token.trim());
      }}
    >
      <h1>Ensemble console</h1>
      <label htmlFor="token">API token</label>
      <input id="token" type="password" autoComplete="off" value={token} onChange={(event) => setToken(event.target.value)} />
      <button type="submit" disabled={token.trim() === ''}>
        Sign in
      </button>
      {error === undefined ? null : <ErrorMessage error={error} />}
    </form>
  );
}

interface ShellProps {
  tab: Tab;
  onTab: (tab: Tab) => void;
  authRequired: boolean;
  onSignOut: () => void;
  watchedSession: string | undefined;
  onSession: (sessionId: string) => void;
  onOpenSession: (sessionId: string) => void;
}

function Shell(props: ShellProps): ReactNode {
  const pending = usePendingApprovalCount();
  return (
    <>
      <header>
        <h1>Ensemble</h1>
        <nav role="tablist" aria-label="Console sections">
          {TABS.map((name) => (
            <button key={name} role="tab" id={`tab-${name}`} aria-selected={props.tab === name} aria-controls={`panel-${name}`} onClick={() => props.onTab(name)}>
              {name}
              {name === 'Approvals' && pending > 0 ? (
                <span className="badge" aria-label={`${pending} pending`}>
                  {pending}
                </span>
              ) : null}
            </button>
          ))}
        </nav>
        {props.authRequired ? (
          <button type="button" onClick={props.onSignOut} style={{ marginLeft: 'auto' }}>
            Sign out
          </button>
        ) : null}
      </header>
      <main role="tabpanel" id={`panel-${props.tab}`} aria-labelledby={`tab-${props.tab}`}>
        {/* Chat stays mounted so a running answer keeps streaming while another tab is open. */}
        <div hidden={props.tab !== 'Chat'}>
          <ChatTab onSession={props.onSession} />
        </div>
        {props.tab === 'Workflows' ? <WorkflowsTab sessionId={props.watchedSession} onSession={props.onSession} /> : null}
        {props.tab === 'Approvals' ? <ApprovalsTab /> : null}
        {props.tab === 'Sessions' ? <SessionsTab onOpen={props.onOpenSession} /> : null}
        {props.tab === 'Agents' ? <AgentsTab /> : null}
      </main>
    </>
  );
}
