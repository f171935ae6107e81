import { type ReactNode, useRef, useState } from 'react';

import { ErrorMessage } from './app.js';
import { ApiError, apiFetch, readSse } from './api.js';
import type { ProgressEvent } from './model/workflow-graph.js';

type RoutingMode = 'auto' | 'passthrough' | 'orchestration';

interface Turn {
  question: string;
  answer: string;
  decision?: string;
  sessionId?: string;
  progress: ProgressEvent[];
  error?: string;
  reconnecting?: boolean;
  done: boolean;
}

interface ChatChunk {
  choices?: { delta?: { content?: string | null; reasoning_event?: ProgressEvent } }[];
}

const MAX_RESUMES = 5;

/** One attribution line per progress event: which agent, on which node, did what. */
function describe(event: ProgressEvent): string {
  const who = [event.agent, event.node === undefined ? undefined : `node ${event.node}`].filter((part) => part !== undefined).join(' · ');
  return `${who === '' ? '' : `[${who}] `}${event.type}${event.message === undefined ? '' : `: ${event.message}`}`;
}

export function ChatTab({ onSession }: { onSession: (sessionId: string) => void }): ReactNode {
  const [mode, setMode] = useState<RoutingMode>('auto');
  const [input, setInput] = useState('');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [busy, setBusy] = useState(false);
  const sessionRef = useRef<string | undefined>(undefined);

  const update = (index: number, change: (turn: Turn) => Partial<Turn>) => setTurns((all) => all.map((turn, at) => (at === index ? { ...turn, ...change(turn) } : turn)));

  async function send(question: string) {
    const index = turns.length;
    const history = turns.flatMap((turn) => [
      { role: 'user', content: turn.question },
      { role: 'assistant', content: turn.answer },
    ]);
    setTurns((all) => [...all, { question, answer: '', progress: [], done: false }]);
    setBusy(true);
    let lastEventId: string | undefined;
    let resumes = 0;
    try {
      for (;;) {
        try {
          const headers: Record<string, string> = { 'X-Routing-Mode': mode };
          if (sessionRef.current !== undefined) headers['X-Session-ID'] = sessionRef.current;
          if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
          const response = await apiFetch('/v1/chat/completions', {
            method: 'POST',
            headers,
            body: { model: 'ensemble', stream: true, messages: [...history, { role: 'user', content: question }] },
          });
          const decision = response.headers.get('x-routing-decision') ?? undefined;
          const sessionId = response.headers.get('x-session-id') ?? undefined;
          if (sessionId !== undefined) {
            sessionRef.current = sessionId;
            onSession(sessionId);
          }
          update(index, (turn) => ({ decision: decision ?? turn.decision, sessionId: sessionId ?? turn.sessionId, reconnecting: false }));
          let finished = false;
          await readSse(response, (frame) => {
            if (frame.id !== undefined) lastEventId = frame.id;
            if (frame.data === '[DONE]') {
              finished = true;
              return;
            }
            let chunk: ChatChunk;
            try {
              chunk = JSON.parse(frame.data) as ChatChunk;
            } catch {
              return;
            }
            const delta = chunk.choices?.[0]?.delta;
            const event = delta?.reasoning_event;
            const content = delta?.content;
            if (event !== undefined) update(index, (turn) => ({ progress: [...turn.progress, event] }));
            if (typeof content === 'string' && content !== '') update(index, (turn) => ({ answer: turn.answer + content }));
          });
          if (finished || sessionRef.current === undefined || lastEventId === undefined) break;
          throw new Error('The stream ended early');
        } catch (error) {
          // A lost connection on an orchestrated answer resumes right after the last event it showed.
          const resumable = sessionRef.current !== undefined && lastEventId !== undefined && resumes < MAX_RESUMES && !(error instanceof ApiError && error.status !== 0);
          if (!resumable) throw error;
          resumes += 1;
          update(index, () => ({ reconnecting: true }));
        }
      }
      update(index, () => ({ done: true }));
    } catch (error) {
      update(index, () => ({ error: error instanceof Error ? error.message : String(error), done: true, reconnecting: false }));
    } finally {
      setBusy(false);
    }
  }

  const current = turns.at(-1);
  return (
    <div className="chat">
      <section aria-label="Conversation">
        <div className="messages">
          {turns.map((turn, index) => (
            <div key={index}>
              <div className="message user">{turn.question}</div>
              <div className="message assistant" aria-label="Answer" aria-busy={!turn.done}>
                {turn.decision === undefined ? null : <div className="decision">Routing: {turn.decision}</div>}
                {turn.answer}
              </div>
              {turn.reconnecting === true ? <p className="notice">reconnecting…</p> : null}
              <ErrorMessage error={turn.error} />
            </div>
          ))}
        </div>
        <form
          className="row"
          onSubmit={(event) => {
            event.preventDefault();
            const question = input.trim();
            if (question === '' || busy) return;
            setInput('');
            void send(question);
          }}
        >
          <label>
            Routing{' '}
            <select aria-label="Routing mode" value={mode} onChange={(event) => setMode(event.target.value as RoutingMode)}>
              <option value="auto">auto</option>
              <option value="passthrough">passthrough</option>
              <option value="orchestration">orchestration</option>
            </select>
          </label>
          <textarea aria-label="Message" value={input} onChange={(event) => setInput(event.target.value)} />
          <button type="submit" disabled={busy || input.trim() === ''}>
            Send
          </button>
          <button
            type="button"
            onClick={() => {
              sessionRef.current = undefined;
              setTurns([]);
            }}
          >
            New conversation
          </button>
        </form>
      </section>
      <aside className="progress" aria-label="Agent progress">
        <h2>Agent progress</h2>
        {current?.sessionId === undefined ? null : <p>Session {current.sessionId}</p>}
        <ol>
          {(current?.progress ?? []).map((event, index) => (
            <li key={index}>{describe(event)}</li>
          ))}
        </ol>
      </aside>
    </div>
  );
}
