import { AgentServiceSettings } from '@ensemble/a2a';
import { env } from '@ensemble/config';
import { VectorStoreSettings } from '@ensemble/vectors/open';
import { z } from 'zod';

/** Every variable the RAG agent reads (the README's configuration table lists them with these defaults). */
export const RagAgentConfig = z.object({
  RAG_AGENT_HOST: env.host(),
  RAG_AGENT_PORT: env.port(8004),
  /** URL announced in the Agent Card when it differs from the bound address (behind a proxy). */
  RAG_AGENT_PUBLIC_URL: env.optionalUrl(),

  // Where the knowledge base lives: the same variables, with the same defaults, as `npx ensemble ingest`
  // and the MCP knowledge-base tool, so they all read and write one store.
  ...VectorStoreSettings.shape,
  /** The model that writes the cited answer (and rewrites queries). */
  RAG_MODEL: env.string('gpt-4o-mini'),
  /** Chunks retrieved per question, before the relevance threshold and the context budget. */
  RAG_TOP_K: env.int(6, 1),
  /** Minimum cosine similarity between question and chunk for the chunk to count as relevant. */
  RAG_MIN_SCORE: z.coerce.number().min(-1).max(1).default(0.2),
  /** Token budget (cl100k) for the sources put in the prompt. */
  RAG_CONTEXT_TOKENS: env.int(3000, 50),
  /** Ask the model for a standalone search query first (helps follow-up questions; costs one call). */
  RAG_QUERY_REWRITE: env.boolean(false),
  /** Budget of one model call (the whole streamed answer). */
  RAG_LLM_TIMEOUT_MS: env.int(60_000, 1),
  /** Paths, directories or globs ingested at start-up, idempotently (unchanged files cost one lookup). */
  RAG_SEED_PATHS: env.list(),
  /** Largest request body (A2A calls and `POST /v1/ingest` uploads). */
  RAG_MAX_BODY_BYTES: env.int(16 * 1024 * 1024, 1024),

  ...AgentServiceSettings.shape,
  RAG_TASK_STORE: z.enum(['redis', 'memory']).default('redis'),
});
export type RagAgentConfig = z.infer<typeof RagAgentConfig>;
