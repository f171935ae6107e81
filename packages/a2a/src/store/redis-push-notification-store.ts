import { randomUUID } from 'node:crypto';

import { TaskPushNotificationConfig } from '@a2a-js/sdk';
import { type OwnerResolver, type PushNotificationStore, type ServerCallContext, type StoredPushNotificationConfig, resolveUserScope } from '@a2a-js/sdk/server';
import type { Redis } from 'ioredis';

export interface RedisPushNotificationStoreOptions {
  /** Prepended to every key (the deployment's `REDIS_KEY_PREFIX`). Default `ensemble:`. */
  keyPrefix?: string;
  /** Lifetime of a task's configs after the last save (the task's own TTL). Default one day. */
  ttlSeconds?: number;
  /** Owner scope of a call; default the SDK's `resolveUserScope` (the authenticated user's name). */
  ownerResolver?: OwnerResolver;
}

/** Wire version the SDK records when a request names none (A2A-Version absent means v0.3). */
const LEGACY_WIRE_VERSION = '0.3';

interface StoredEntry {
  config: unknown;
  wireVersion: string;
  /** Order of registration from a per-task Redis counter (a replaced config moves to the end, as in the SDK's store). */
  order: number;
}

/**
 * A2A push-notification configs in Redis, so a config set through one replica is delivered by whichever
 * replica runs (or resumes) the task, and survives a restart.
 *
 * Contract (the SDK's `PushNotificationStore`, as its `InMemoryPushNotificationStore` implements it):
 * configs are scoped by `context.tenant` and the caller's owner identity; `save` assigns a UUID to an
 * empty `id` in place and replaces a config with the same id; `load` returns fresh copies in
 * registration order (`[]` when none, expired or out of scope); `loadWithMetadata` adds the A2A version
 * the config was registered over, so each webhook gets the body shape it asked for; `delete` removes the
 * config with `configId` (the SDK's default when absent: the task id) and is a no-op for an unknown one.
 * Layout: one hash per task under `{prefix}a2a:push:{tenant}:{owner}:{taskId}`, field = config id,
 * value = ProtoJSON config with its wire version and registration order (from the `…:order` counter
 * beside it); both expire `ttlSeconds` after the last save.
 */
export class RedisPushNotificationStore implements PushNotificationStore {
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly ownerOf: OwnerResolver;

  constructor(
    private readonly redis: Redis,
    options: RedisPushNotificationStoreOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? 'ensemble:';
    this.ttlSeconds = options.ttlSeconds ?? 86_400;
    this.ownerOf = options.ownerResolver ?? resolveUserScope;
  }

  async save(taskId: string, context: ServerCallContext, pushNotificationConfig: TaskPushNotificationConfig): Promise<void> {
    if (!pushNotificationConfig.id) pushNotificationConfig.id = randomUUID();
    const key = this.key(context, taskId);
    // A counter, not a clock: saves within one millisecond (or on replicas whose clocks differ) keep their order.
    const [[, order]] = (await this.redis.multi().incr(`${key}:order`).expire(`${key}:order`, this.ttlSeconds).exec()) as [[Error | null, number]];
    const entry: StoredEntry = {
      config: TaskPushNotificationConfig.toJSON(pushNotificationConfig),
      wireVersion: context.requestedVersion || LEGACY_WIRE_VERSION,
      order,
    };
    await this.redis.multi().hset(key, pushNotificationConfig.id, JSON.stringify(entry)).expire(key, this.ttlSeconds).exec();
  }

  async load(taskId: string, context: ServerCallContext): Promise<TaskPushNotificationConfig[]> {
    return (await this.loadWithMetadata(taskId, context)).map((entry) => entry.config);
  }

  async loadWithMetadata(taskId: string, context: ServerCallContext): Promise<StoredPushNotificationConfig[]> {
    const fields = await this.redis.hgetall(this.key(context, taskId));
    return Object.values(fields)
      .map((raw) => JSON.parse(raw) as StoredEntry)
      .sort((a, b) => a.order - b.order)
      .map((entry) => ({ config: TaskPushNotificationConfig.fromJSON(entry.config), wireVersion: entry.wireVersion }));
  }

  async delete(taskId: string, context: ServerCallContext, configId?: string): Promise<void> {
    await this.redis.hdel(this.key(context, taskId), configId ?? taskId);
  }

  private key(context: ServerCallContext, taskId: string): string {
    return `${this.prefix}a2a:push:${encodeURIComponent(context.tenant ?? '')}:${encodeURIComponent(this.ownerOf(context))}:${taskId}`;
  }
}
