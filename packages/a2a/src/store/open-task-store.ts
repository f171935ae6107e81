import { type ReadinessCheck, redisReadiness } from '@ensemble/service';
import type { Logger } from '@ensemble/telemetry';
import { Redis } from 'ioredis';

import type { AgentServiceSettings } from '../settings.js';
import { RedisPushNotificationStore } from './redis-push-notification-store.js';
import { RedisTaskStore } from './redis-task-store.js';

export interface OpenedTaskStore {
  /** `undefined` for `memory`: the agent-service kit then keeps tasks in memory. */
  taskStore: RedisTaskStore | undefined;
  /** The tasks' push-notification configs, on the same connection (`undefined` for `memory`). */
  pushStore: RedisPushNotificationStore | undefined;
  /** What `/ready` checks for this store: Redis answering PING (nothing for `memory`). */
  readiness: ReadinessCheck[];
  /** Ends the Redis connection (at shutdown, after the service stopped). */
  close(): Promise<void>;
}

/**
 * The task store an agent's configuration asks for. `redis` opens the agent's own connection (its
 * errors are logged, not thrown: ioredis reconnects on its own) with a `RedisTaskStore` on it.
 */
export function openAgentTaskStore(
  kind: 'redis' | 'memory',
  settings: Pick<AgentServiceSettings, 'REDIS_URL' | 'REDIS_KEY_PREFIX' | 'A2A_TASK_TTL_SECONDS'>,
  logger: Logger,
): OpenedTaskStore {
  if (kind === 'memory') return { taskStore: undefined, pushStore: undefined, readiness: [], close: () => Promise.resolve() };
  const redis = new Redis(settings.REDIS_URL, { maxRetriesPerRequest: 2 });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  return {
    taskStore: new RedisTaskStore(redis, { keyPrefix: settings.REDIS_KEY_PREFIX, ttlSeconds: settings.A2A_TASK_TTL_SECONDS }),
    pushStore: new RedisPushNotificationStore(redis, { keyPrefix: settings.REDIS_KEY_PREFIX, ttlSeconds: settings.A2A_TASK_TTL_SECONDS }),
    readiness: [redisReadiness(redis)],
    async close() {
      await redis.quit();
    },
  };
}
