import { type ReactNode, useEffect, useState } from 'react';

import { ErrorMessage } from './app.js';
import { apiJson } from './api.js';

const REFRESH_MS = 5_000;

interface AgentItem {
  name: string | null;
  url: string;
  status: string;
  available: boolean;
  last_checked: string | null;
  last_error: string | null;
  description: string | null;
  skills: { id: string; name: string; description: string }[];
  card: { version?: unknown; supportedInterfaces?: unknown; additionalInterfaces?: unknown } | null;
}

/** The card's interfaces, whatever A2A version wrote it: `protocolBinding`/`transport` and URL. */
function interfacesOf(card: AgentItem['card']): string[] {
  const list = [card?.supportedInterfaces, card?.additionalInterfaces].flatMap((value) => (Array.isArray(value) ? (value as unknown[]) : []));
  return list.map((item) => {
    const entry = item as { protocolBinding?: string; transport?: string; url?: string };
    return `${entry.protocolBinding ?? entry.transport ?? 'interface'} ${entry.url ?? ''}`.trim();
  });
}

export function AgentsTab(): ReactNode {
  const [agents, setAgents] = useState<AgentItem[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  useEffect(() => {
    let stopped = false;
    const refresh = () => {
      apiJson<{ data: AgentItem[] }>('/v1/agents')
        .then((list) => {
          if (stopped) return;
          setAgents(list.data);
          setError(undefined);
        })
        .catch((failure: unknown) => {
          if (!stopped) setError(failure);
        });
    };
    refresh();
    // Health changes as the gateway's registry re-checks agents; the list is cheap (in-memory there).
    const timer = setInterval(refresh, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  return (
    <section aria-label="Agents">
      <ErrorMessage error={error} />
      {agents?.length === 0 ? <p>No agents are configured.</p> : null}
      <div className="cards">
        {(agents ?? []).map((agent) => (
          <article className="card" key={agent.url} aria-label={`Agent ${agent.name ?? agent.url}`}>
            <h3>{agent.name ?? agent.url}</h3>
            <p>
              Health: <strong>{agent.status}</strong>
              {agent.last_checked === null ? '' : ` (checked ${new Date(agent.last_checked).toLocaleTimeString()})`}
            </p>
            {agent.last_error === null ? null : <p className="error">{agent.last_error}</p>}
            <p>Version: {typeof agent.card?.version === 'string' ? agent.card.version : '—'}</p>
            {agent.description === null ? null : <p>{agent.description}</p>}
            <h4>Skills</h4>
            <ul>
              {agent.skills.map((skill) => (
                <li key={skill.id}>
                  <strong>{skill.name}</strong>: {skill.description}
                </li>
              ))}
            </ul>
            <h4>Interfaces</h4>
            <ul>
              {(interfacesOf(agent.card).length === 0 ? [agent.url] : interfacesOf(agent.card)).map((entry) => (
                <li key={entry}>{entry}</li>
              ))}
            </ul>
          </article>
        ))}
      </div>
    </section>
  );
}
