import { AgentRegistry, announceReplica } from '@ensemble/a2a/client';
import { RedisAgentCardCache, RedisPushNotificationStore, RedisReplicaRegistry, RedisTaskStore } from '@ensemble/a2a/redis';
import { createWebhookNotifier, notifyingApprovalStore } from '@ensemble/approvals';
import { RedisApprovalStore } from '@ensemble/approvals/redis';
import { loadConfig } from '@ensemble/config';
import { createLlmClient, upstreamReadiness } from '@ensemble/llm';
import { onShutdownSignal, redisReadiness } from '@ensemble/service';
import { ORCHESTRATOR_SERVICE, WorkflowEvent } from '@ensemble/protocol';
import { RedisSessionStore } from '@ensemble/sessions/redis';
import { createLogger, startTelemetry } from '@ensemble/telemetry';
import { RedisEventLog } from '@ensemble/workflow/redis';
import { AgentClients, CancelRelay, RedisResultStore } from '@ensemble/workflow/runtime';
import { Redis } from 'ioredis';

import { createOrchestratorApp } from './app.js';
import { OrchestratorConfig } from './config.js';

/** How long an announcement in the replica registry lasts unrenewed (renewed every third of it): a crashed replica drops out after it. */
const REPLICA_ANNOUNCEMENT_TTL_MS = 10_000;

const config = loadConfig(OrchestratorConfig, process.env);
const telemetry = startTelemetry({ serviceName: ORCHESTRATOR_SERVICE, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, otlpProtocol: config.OTEL_EXPORTER_OTLP_PROTOCOL });
const logger = createLogger({ service: ORCHESTRATOR_SERVICE, level: config.LOG_LEVEL });

// No ioredis auto-pipelining: the writers that burst batch already (the event log's appender, the task
// store's write-behind), and the nodes of a layer finish in separate ticks, so it almost never merged two
// commands, while its per-tick pipeline added CPU to every round trip (a PING 66 -> 148 µs).
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
// Sessions get their own connection: a node's result is written on the workflow's critical path and
// must not queue behind the task store's and the registry's traffic (a connection answers in order).
const sessionRedis = redis.duplicate();
sessionRedis.on('error', (error) => logger.warn({ err: error }, 'redis connection error (sessions)'));
const eventRedis = redis.duplicate();
eventRedis.on('error', (error) => logger.warn({ err: error }, 'redis connection error (event log)'));
const keyPrefix = config.REDIS_KEY_PREFIX;

const registry = new AgentRegistry({ agentUrls: config.AGENT_URLS, cache: new RedisAgentCardCache(redis, { keyPrefix }), logger });
await registry.start();

const llm = createLlmClient({ baseURL: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY });

// Approval webhooks: this process sends `approval.requested` (a node paused) and `approval.decided` for
// decisions made by a chat turn; the gateway sends the approvals API's decisions and the expiries.
const webhooks = createWebhookNotifier(config, logger);
const approvalRecords = new RedisApprovalStore(sessionRedis, { keyPrefix });

const { service, orchestrator } = createOrchestratorApp({
  store: new RedisSessionStore(sessionRedis, { keyPrefix, ttlMs: config.SESSION_TTL_SECONDS * 1000 }),
  results: new RedisResultStore(redis, { keyPrefix, ttlSeconds: config.ORCHESTRATOR_RESULT_TTL_SECONDS }),
  // Its own connection: event appends (batched, off the workflow's path) must not queue in front of the
  // node results the next layer waits for on the sessions' connection. Blocking reads take their own.
  events: new RedisEventLog(eventRedis, { keyPrefix, ttlMs: config.SESSION_TTL_SECONDS * 1000, parse: (value) => WorkflowEvent.parse(value) }),
  finishedEventLogTtlMs: config.ORCHESTRATOR_RESULT_TTL_SECONDS * 1000,
  taskStore: new RedisTaskStore(redis, { keyPrefix, ttlSeconds: config.A2A_TASK_TTL_SECONDS }),
  relay: new CancelRelay(redis, { keyPrefix, logger }),
  directory: registry,
  clients: new AgentClients({ token: config.AGENT_CLIENT_TOKEN, logger }),
  llm,
  model: config.ORCHESTRATOR_MODEL,
  maxConcurrency: config.ORCHESTRATOR_MAX_CONCURRENCY,
  onNodeFailure: config.ORCHESTRATOR_ON_NODE_FAILURE,
  nodeRetryBudgetMs: config.ORCHESTRATOR_NODE_RETRY_BUDGET_MS,
  approvals: webhooks === undefined ? approvalRecords : notifyingApprovalStore(approvalRecords, webhooks),
  approvalTimeoutSeconds: config.APPROVAL_TIMEOUT_SECONDS,
  approvalTimeoutAction: config.APPROVAL_TIMEOUT_ACTION,
  plannerTimeoutMs: config.ORCHESTRATOR_PLANNER_TIMEOUT_MS,
  logger,
  authTokens: config.AGENT_AUTH_TOKENS,
  publicUrl: config.ORCHESTRATOR_PUBLIC_URL,
  leaseMs: config.SESSION_LEASE_MS,
  resumeScanMs: config.ORCHESTRATOR_RESUME_SCAN_MS,
  maxBackgroundResumes: config.ORCHESTRATOR_MAX_BACKGROUND_RESUMES,
  shutdownGraceMs: config.A2A_SHUTDOWN_GRACE_MS,
  maxBodyBytes: config.A2A_MAX_BODY_BYTES,
  pushNotifications: { store: new RedisPushNotificationStore(redis, { keyPrefix, ttlSeconds: config.A2A_TASK_TTL_SECONDS }), allowPrivate: config.A2A_PUSH_ALLOW_PRIVATE },
  // Sessions, tasks and the registry live in Redis; the synthesis needs the LLM.
  readiness: [redisReadiness(redis), redisReadiness(sessionRedis, 'redis-sessions'), upstreamReadiness(llm)],
});

await orchestrator.start();

// Gateways find the replicas through its announcement, made once the service listens.
const replica: { announcement?: Promise<{ stop(): Promise<void> }> } = {};
// Registered before listening: whoever reads the `listening` line may stop the process at once, and a
// SIGTERM with no handler would end it without releasing its sessions' leases.
onShutdownSignal(logger, async () => {
  // Out of the registry first, so gateways send new work elsewhere; then workflows are interrupted (not
  // cancelled) and their leases released for another instance.
  await (await replica.announcement)?.stop();
  await orchestrator.stop();
  await service.stop();
  await webhooks?.close();
  await registry.stop();
  redis.disconnect();
  sessionRedis.disconnect();
  eventRedis.disconnect();
  await telemetry.shutdown();
});

const running = await service.start({ host: config.ORCHESTRATOR_HOST, port: config.ORCHESTRATOR_PORT });
// Set ORCHESTRATOR_PUBLIC_URL when bound to every interface or behind NAT. It never rejects: a failed
// announcement is logged and tried again.
replica.announcement = announceReplica(new RedisReplicaRegistry(redis, { keyPrefix }), ORCHESTRATOR_SERVICE, config.ORCHESTRATOR_PUBLIC_URL ?? running.url, {
  ttlMs: REPLICA_ANNOUNCEMENT_TTL_MS,
  logger,
});
await replica.announcement;
logger.info({ agents: config.AGENT_URLS.length, model: config.ORCHESTRATOR_MODEL, resume_scan_ms: config.ORCHESTRATOR_RESUME_SCAN_MS }, 'orchestrator ready');
