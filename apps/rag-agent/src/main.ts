import { openAgentTaskStore } from '@ensemble/a2a/redis';
import { loadConfig } from '@ensemble/config';
import { createLlmClient, upstreamReadiness } from '@ensemble/llm';
import { EnsembleError } from '@ensemble/protocol';
import { onShutdownSignal } from '@ensemble/service';
import { createLogger, startTelemetry } from '@ensemble/telemetry';
import { LEXICAL_MODEL, vectorStoreReadiness } from '@ensemble/vectors';
import { type OpenedVectorStore, openVectorStore } from '@ensemble/vectors/open';

import { createRagAgentApp } from './app.js';
import { RagAgentConfig } from './config.js';
import { AGENT_NAME } from './events.js';
import { seedKnowledgeBase } from './seed.js';

const config = loadConfig(RagAgentConfig, process.env);
const telemetry = startTelemetry({ serviceName: AGENT_NAME, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, otlpProtocol: config.OTEL_EXPORTER_OTLP_PROTOCOL });
const logger = createLogger({ service: AGENT_NAME, level: config.LOG_LEVEL });

// Opened resources, closed again if start-up fails half-way (an in-process PGlite must be closed cleanly).
let opened: OpenedVectorStore | undefined;

try {
  opened = await openVectorStore(config, {
    log: (line) => logger.info(line),
    maxConnections: 4,
    embeddedMaxConnections: 8,
    onPoolError: (error) => logger.warn({ err: error }, 'database connection error'),
  });
  const { store, embedder } = opened;
  logger.info({ mode: opened.database.mode, embedding_model: embedder.model, dimension: embedder.dimension }, 'knowledge base database resolved');
  await store.setup();
  // Before listening: whoever waits for the `listening` line (the launcher, tests) finds the seed searchable.
  await seedKnowledgeBase({ store, embedder, logger }, config.RAG_SEED_PATHS, process.cwd());

  const tasks = openAgentTaskStore(config.RAG_TASK_STORE, config, logger);

  const llm = createLlmClient({ baseURL: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY, timeoutMs: config.RAG_LLM_TIMEOUT_MS });
  const service = createRagAgentApp({
    store,
    embedder,
    llm,
    settings: {
      model: config.RAG_MODEL,
      topK: config.RAG_TOP_K,
      minScore: config.RAG_MIN_SCORE,
      contextTokens: config.RAG_CONTEXT_TOKENS,
      queryRewrite: config.RAG_QUERY_REWRITE,
      requireTextMatch: embedder.model === LEXICAL_MODEL,
    },
    logger,
    taskStore: tasks.taskStore,
    pushNotifications: { store: tasks.pushStore, allowPrivate: config.A2A_PUSH_ALLOW_PRIVATE },
    authTokens: config.AGENT_AUTH_TOKENS,
    publicUrl: config.RAG_AGENT_PUBLIC_URL,
    shutdownGraceMs: config.A2A_SHUTDOWN_GRACE_MS,
    // One limit for A2A calls and ingest uploads: never below what every agent accepts (A2A_MAX_BODY_BYTES).
    maxBodyBytes: Math.max(config.RAG_MAX_BODY_BYTES, config.A2A_MAX_BODY_BYTES),
    readiness: [...tasks.readiness, upstreamReadiness(llm), vectorStoreReadiness(store)],
  });
  // Registered before listening: whoever reads the `listening` line may stop the agent at once (the kit
  // builds its card after that line), and a SIGTERM with no handler would end the process without
  // closing the in-process database.
  const openedStore = opened;
  onShutdownSignal(logger, async () => {
    await service.stop();
    await openedStore.close();
    await tasks.close();
    await telemetry.shutdown();
  });
  await service.start({ host: config.RAG_AGENT_HOST, port: config.RAG_AGENT_PORT });
  const stats = await store.stats();
  logger.info({ documents: stats.documents, chunks: stats.chunks, model: config.RAG_MODEL, task_store: config.RAG_TASK_STORE }, 'rag agent ready');
} catch (error) {
  // Start-up failures (an embedding space mismatch, an unreachable database) are configuration problems:
  // say which, without a stack trace, and exit non-zero so the supervisor shows it.
  logger.fatal({ err: error, code: EnsembleError.is(error) ? error.code : undefined }, EnsembleError.is(error) ? error.message : 'rag agent failed to start');
  await opened?.close().catch(() => undefined);
  await telemetry.shutdown();
  process.exit(1);
}
