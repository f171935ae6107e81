import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { AgentRegistry, watchReplicas } from '@ensemble/a2a/client';
import { RedisAgentCardCache, RedisReplicaRegistry } from '@ensemble/a2a/redis';
import { createWebhookNotifier, notifyingApprovalStore, startExpirySweeper } from '@ensemble/approvals';
import { RedisApprovalStore } from '@ensemble/approvals/redis';
import { loadConfig } from '@ensemble/config';
import { createLlmClient, upstreamReadiness } from '@ensemble/llm';
import { ORCHESTRATOR_SERVICE, WorkflowEvent } from '@ensemble/protocol';
import { LlmRoutingClassifier, createLocalRoutingClassifier, createRouter } from '@ensemble/routing';
import { createNodeFetch, onShutdownSignal, redisReadiness, serveHttp } from '@ensemble/service';
import { RedisSessionStore } from '@ensemble/sessions/redis';
import { createLogger, startTelemetry } from '@ensemble/telemetry';
import { RedisEventLog } from '@ensemble/workflow/redis';
import { Redis } from 'ioredis';

import { createGateway } from './app.js';
import { GatewayConfig, resolveBindHost } from './config.js';
import { A2AOrchestration } from './orchestrator-client.js';
import { RedisSessionTaskIndex } from './session-tasks.js';
import { HttpPassthroughUpstream } from './upstream-relay.js';

const config = loadConfig(GatewayConfig, process.env);
// Telemetry first: `fetch` must be instrumented before the first upstream call.
const telemetry = startTelemetry({ serviceName: 'gateway', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, otlpProtocol: config.OTEL_EXPORTER_OTLP_PROTOCOL });
const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL, flushIntervalMs: config.LOG_FLUSH_INTERVAL_MS });

// Passthrough calls are never retried by the gateway: a retry could only be transparent before the first
// byte reached the client, and a client that gets the upstream's 429/5xx (with Retry-After) retries with
// its own policy. Retrying here too would multiply load exactly when the upstream is struggling.
// The passthrough relays bytes it does not read, so it goes over plain keep-alive HTTP, without the SDK.
const passthroughUpstream = new HttpPassthroughUpstream({
  baseURL: config.OPENAI_BASE_URL,
  apiKey: config.OPENAI_API_KEY,
  timeoutMs: config.UPSTREAM_TIMEOUT_MS,
});
// `/v1/models` and the readiness probe read their answers: the SDK.
const upstreamFetch = createNodeFetch();
const upstream = createLlmClient({
  baseURL: config.OPENAI_BASE_URL,
  apiKey: config.OPENAI_API_KEY,
  timeoutMs: config.UPSTREAM_TIMEOUT_MS,
  maxRetries: 0,
  fetch: upstreamFetch.fetch,
});
// The classifier has its own deadline and a cheap fallback, so it does not retry either.
const classifierClient = createLlmClient({
  baseURL: config.OPENAI_BASE_URL,
  apiKey: config.OPENAI_API_KEY,
  timeoutMs: config.ROUTING_CLASSIFIER_TIMEOUT_MS,
  maxRetries: 0,
  fetch: upstreamFetch.fetch,
});
const router = createRouter({
  ...(config.ROUTING_LOCAL_CLASSIFIER ? { local: createLocalRoutingClassifier({ threshold: config.ROUTING_LOCAL_THRESHOLD }) } : {}),
  classifier: new LlmRoutingClassifier({
    client: classifierClient,
    model: config.ROUTING_CLASSIFIER_MODEL,
    temperature: config.ROUTING_CLASSIFIER_TEMPERATURE,
  }),
  classifierTimeoutMs: config.ROUTING_CLASSIFIER_TIMEOUT_MS,
  cache: config.ROUTING_CACHE_MAX_ENTRIES === 0 ? false : { maxEntries: config.ROUTING_CACHE_MAX_ENTRIES, ttlMs: config.ROUTING_CACHE_TTL_MS },
  onClassifierError: (error) => logger.warn({ err: error, code: error.code }, 'routing classifier failed; falling back to passthrough'),
});

// The readiness probe's own client, without an offline queue: a PING while disconnected must fail at once
// instead of waiting for a reconnect that may never come.
const redis = new Redis(config.REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
redis.on('error', (error: Error) => logger.debug({ err: error }, 'redis connection error'));
redis.connect().catch((error: unknown) => logger.warn({ err: error }, 'redis not reachable at start-up; /ready will report it'));
// Data (session reads, agent cards, session-task hints): commands wait briefly for a reconnect, and the
// session store retries on top before answering 503.
const data = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
data.on('error', (error: Error) => logger.debug({ err: error }, 'redis connection error'));
const keyPrefix = config.REDIS_KEY_PREFIX;
// The orchestrators write every session's event log; the gateway reads it (re-attaching clients, the
// sessions API), so any gateway serves any session. Blocking reads take connections of their own.
const events = new RedisEventLog(data, { keyPrefix, parse: (value) => WorkflowEvent.parse(value) });

// The orchestrators announce themselves in Redis; `ORCHESTRATOR_URL` serves while none is announced.
const orchestrators = watchReplicas(new RedisReplicaRegistry(data, { keyPrefix }), ORCHESTRATOR_SERVICE, { fallback: config.ORCHESTRATOR_URL, refreshMs: 1_000, logger });
await orchestrators.refresh();
const orchestration = new A2AOrchestration({
  url: () => orchestrators.urls(),
  token: config.AGENT_CLIENT_TOKEN,
  timeoutMs: config.ORCHESTRATOR_TIMEOUT_MS,
  reasoningField: config.ORCHESTRATION_REASONING_FIELD,
  logger,
  sessionTasks: new RedisSessionTaskIndex(data, { keyPrefix }),
  events,
});
const sessions = new RedisSessionStore(data, { keyPrefix });
const registry = new AgentRegistry({
  agentUrls: config.AGENT_URLS,
  cache: new RedisAgentCardCache(data, { keyPrefix }),
  refreshIntervalMs: config.AGENT_REFRESH_INTERVAL_MS,
  logger,
});
// Not awaited: the first check of every agent must not delay serving; until it ends agents show `unknown`.
void registry.start();

const bind = resolveBindHost(config.GATEWAY_HOST, config.API_TOKENS);
if (bind.warning !== undefined) logger.warn({ host: bind.host }, bind.warning);

// Approval webhooks: this process sends the approvals API's decisions and the expiries it claims; the
// orchestrator sends the requests and the decisions made by a chat turn.
const webhooks = createWebhookNotifier(config, logger);
const approvalRecords = new RedisApprovalStore(data, { keyPrefix });
const approvals = webhooks === undefined ? approvalRecords : notifyingApprovalStore(approvalRecords, webhooks);
// Expired approvals (claimed once across replicas) wake their workflow, which takes an expiry as a rejection.
const stopExpirySweeper = startExpirySweeper({
  store: approvals,
  intervalMs: 1_000,
  onExpired: (record) => {
    logger.info({ approval_id: record.id, session_id: record.session_id, node: record.node_id, action: record.action }, 'approval expired');
    orchestration.resumeSession(record.session_id, record.owner);
  },
  onError: (error) => logger.warn({ err: error }, 'approval expiry sweep failed'),
});

// The console's build (`npm run build:console`, run by `make up` and `make test`); absent, /console is not served.
const consoleDirectory = fileURLToPath(new URL('../../console/dist', import.meta.url));

const { app, lanes } = createGateway({
  logger,
  upstream,
  passthroughUpstream,
  upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
  router,
  orchestration,
  sessions: { store: sessions, cancel: (id, principal) => orchestration.cancelSession(id, principal), events, approvals },
  approvals: { store: approvals, sessions, resume: (id, principal) => orchestration.resumeSession(id, principal) },
  agents: registry,
  readinessChecks: [upstreamReadiness(upstream), redisReadiness(redis)],
  apiTokens: config.API_TOKENS,
  maxBodyBytes: config.MAX_BODY_BYTES,
  agentMaxBodyBytes: config.A2A_MAX_BODY_BYTES,
  ...(existsSync(consoleDirectory) ? { consoleDirectory } : {}),
});
const server = await serveHttp(app, { host: bind.host, port: config.GATEWAY_PORT, logger, service: 'gateway', lanes });

onShutdownSignal(logger, async () => {
  stopExpirySweeper();
  orchestrators.stop();
  await server.close();
  await webhooks?.close();
  upstreamFetch.close();
  passthroughUpstream.close();
  await registry.stop();
  await events.close();
  redis.disconnect();
  data.disconnect();
  await telemetry.shutdown();
});
