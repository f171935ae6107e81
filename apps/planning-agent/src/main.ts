import { AgentRegistry } from '@ensemble/a2a/client';
import { RedisAgentCardCache, RedisPushNotificationStore, RedisTaskStore } from '@ensemble/a2a/redis';
import { loadConfig } from '@ensemble/config';
import { createLlmClient, upstreamReadiness } from '@ensemble/llm';
import { onShutdownSignal, redisReadiness } from '@ensemble/service';
import { createLogger, startTelemetry } from '@ensemble/telemetry';
import { Redis } from 'ioredis';

import { PLANNING_AGENT_CARD, createPlanningAgentApp } from './app.js';
import { PlanningAgentEnv } from './config.js';

const config = loadConfig(PlanningAgentEnv, process.env);
const telemetry = startTelemetry({ serviceName: PLANNING_AGENT_CARD.name, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, otlpProtocol: config.OTEL_EXPORTER_OTLP_PROTOCOL });
const logger = createLogger({ service: PLANNING_AGENT_CARD.name, level: config.LOG_LEVEL });

const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));

// The card cache is shared through Redis with every other service's registry (same key prefix).
const registry = new AgentRegistry({
  agentUrls: config.AGENT_URLS,
  cache: new RedisAgentCardCache(redis, { keyPrefix: config.REDIS_KEY_PREFIX }),
  logger,
});

const llm = createLlmClient({ baseURL: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY });

const service = createPlanningAgentApp({
  llm,
  settings: { model: config.PLANNER_MODEL, temperature: config.PLANNER_TEMPERATURE, maxAttempts: config.PLANNER_MAX_ATTEMPTS },
  registry,
  logger,
  taskStore: new RedisTaskStore(redis, { keyPrefix: config.REDIS_KEY_PREFIX, ttlSeconds: config.A2A_TASK_TTL_SECONDS }),
  authTokens: config.AGENT_AUTH_TOKENS,
  publicUrl: config.PLANNING_AGENT_PUBLIC_URL,
  shutdownGraceMs: config.A2A_SHUTDOWN_GRACE_MS,
  maxBodyBytes: config.A2A_MAX_BODY_BYTES,
  pushNotifications: {
    store: new RedisPushNotificationStore(redis, { keyPrefix: config.REDIS_KEY_PREFIX, ttlSeconds: config.A2A_TASK_TTL_SECONDS }),
    allowPrivate: config.A2A_PUSH_ALLOW_PRIVATE,
  },
  readiness: [redisReadiness(redis), upstreamReadiness(llm)],
});

// Registered before listening: whoever reads the `listening` line may stop the agent at once (the kit
// builds its card after that line), and a SIGTERM with no handler would skip the graceful drain.
onShutdownSignal(logger, async () => {
  await service.stop();
  await registry.stop();
  await redis.quit();
  await telemetry.shutdown();
});

await service.start({ host: config.PLANNING_AGENT_HOST, port: config.PLANNING_AGENT_PORT });
if (config.AGENT_URLS.length === 0) logger.warn('AGENT_URLS is empty: every planning task will fail until agents are configured');
// Discovery runs in the background (every plan refreshes it too), so start-up never waits for agents.
void registry.start();
logger.info({ agent_urls: config.AGENT_URLS, model: config.PLANNER_MODEL, max_attempts: config.PLANNER_MAX_ATTEMPTS }, 'planning agent ready');
