import { type AgentCardSpec } from '@ensemble/a2a';
import { type AgentService, type PushNotificationOptions, type TaskStore, createAgentService } from '@ensemble/a2a/server';
import { DOCUMENT_RETRIEVAL_SKILL_ID } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';
import type { ReadinessCheck } from '@ensemble/service';

import { AGENT_NAME } from './events.js';
import { mountIngestRoute } from './ingest-route.js';
import { type RagDeps, createRagRun } from './rag-run.js';

export interface RagAgentAppDeps extends RagDeps {
  logger: Logger;
  taskStore?: TaskStore;
  /** What `/ready` verifies besides draining (Redis, the LLM, the database). */
  readiness?: readonly ReadinessCheck[];
  /** Bearer tokens for the A2A endpoints and `POST /v1/ingest`; none = no auth. */
  authTokens?: readonly string[];
  publicUrl?: string;
  shutdownGraceMs?: number;
  maxBodyBytes?: number;
  /** A2A push notifications: where configs live, and whether private-network webhooks are allowed. */
  pushNotifications?: PushNotificationOptions;
}

/** What planners read: the skill's description, tags and examples decide when the RAG agent is picked. */
export const RAG_AGENT_CARD: AgentCardSpec = {
  name: AGENT_NAME,
  description:
    'Answers questions from Ensemble’s knowledge base (documents ingested with `npx ensemble ingest` or POST /v1/ingest), ' +
    'citing the documents it used as [1], [2]… and listing them in a `sources` data artifact.',
  skills: [
    {
      id: DOCUMENT_RETRIEVAL_SKILL_ID,
      name: 'Document retrieval',
      description:
        'Searches the knowledge base (hybrid vector + full-text search) and answers the question from the passages found, citing them ' +
        'as [1], [2]…; returns a `sources` data artifact (document, chunk, score, title, location). Says plainly when the knowledge base ' +
        'has nothing relevant instead of guessing. Optional data part {"retrieval": {"filter": {...}, "documentIds": [...], "topK": 5}}.',
      tags: ['retrieval', 'rag', 'documents', 'knowledge-base', 'search', 'citations'],
      examples: [
        'What are the HNSW index parameters in pgvector?',
        'How does the A2A protocol describe what an agent can do?',
        'What does our documentation say about running Ensemble locally?',
      ],
      inputModes: ['text/plain', 'application/json'],
      outputModes: ['text/plain', 'application/json'],
    },
  ],
  provider: { organization: 'Ensemble', url: 'https://github.com/ensemble' },
};

/** The RAG agent as an A2A service, plus `POST /v1/ingest` on the same server and auth. */
export function createRagAgentApp(deps: RagAgentAppDeps): AgentService {
  const authTokens = deps.authTokens ?? [];
  const service = createAgentService({
    card: RAG_AGENT_CARD,
    executor: createRagRun(deps),
    taskStore: deps.taskStore,
    readiness: deps.readiness,
    logger: deps.logger,
    auth: { tokens: authTokens },
    publicUrl: deps.publicUrl,
    shutdownGraceMs: deps.shutdownGraceMs,
    maxBodyBytes: deps.maxBodyBytes,
    pushNotifications: deps.pushNotifications,
  });
  mountIngestRoute(service.app, { store: deps.store, embedder: deps.embedder, authTokens });
  return service;
}
