import { type ListTasksRequest, type ListTasksResponse, Task, TaskState } from '@a2a-js/sdk';
import { type OwnerResolver, type ServerCallContext, type TaskStore, resolveUserScope } from '@a2a-js/sdk/server';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import { Redis } from 'ioredis';

export interface RedisTaskStoreOptions {
  /** Prepended to every key (the deployment's `REDIS_KEY_PREFIX`). Default `ensemble:`. */
  keyPrefix?: string;
  /** Lifetime of a task after its last update; refreshed on every save. Default one day. */
  ttlSeconds?: number;
  /** Owner scope of a call; default the SDK's `resolveUserScope` (the authenticated user's name). */
  ownerResolver?: OwnerResolver;
}

const DEFAULT_PAGE_SIZE = 50;
const MGET_BATCH = 200;

/**
 * A2A tasks in Redis, so they outlive the agent process and every replica of an agent sees the same
 * tasks (`GetTask` answered by any of them).
 *
 * Contract (the SDK's `TaskStore`): tasks are scoped by `context.tenant` and by the caller's owner
 * identity, a caller never sees another scope's tasks, `load` returns a fresh copy (`undefined` when
 * absent, expired or out of scope), `save` overwrites. Layout: one string per task (ProtoJSON, so binary
 * parts survive) under `{prefix}a2a:task:{tenant}:{owner}:{id}`, plus sorted sets indexing task ids for
 * `list`: one per scope (`a2a:tasks:{tenant}:{owner}`) and one per context in it
 * (`a2a:context-tasks:{tenant}:{owner}:{contextId}`). All expire `ttlSeconds` after the last save. `list`
 * reads the context's index when it filters by context, else the whole scope's (bounded by the TTL), and
 * filters in memory like the SDK's in-memory store; it is not on the hot path.
 */
export class RedisTaskStore implements TaskStore {
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly ownerOf: OwnerResolver;
  private ownsClient = false;

  constructor(
    private readonly redis: Redis,
    options: RedisTaskStoreOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? 'ensemble:';
    this.ttlSeconds = options.ttlSeconds ?? 86_400;
    this.ownerOf = options.ownerResolver ?? resolveUserScope;
  }

  /** A store with its own connection; `close()` ends it. */
  static fromUrl(url: string, options: RedisTaskStoreOptions = {}): RedisTaskStore {
    const store = new RedisTaskStore(new Redis(url, { maxRetriesPerRequest: 2 }), options);
    store.ownsClient = true;
    return store;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const scope = this.scope(context);
    const score = timestampScore(task);
    await this.redis
      .multi()
      .set(this.taskKey(scope, task.id), JSON.stringify(Task.toJSON(task)), 'EX', this.ttlSeconds)
      .zadd(this.indexKey(scope), score, task.id)
      .expire(this.indexKey(scope), this.ttlSeconds)
      .zadd(this.contextIndexKey(scope, task.contextId), score, task.id)
      .expire(this.contextIndexKey(scope, task.contextId), this.ttlSeconds)
      .exec();
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const raw = await this.redis.get(this.taskKey(this.scope(context), taskId));
    return raw === null ? undefined : Task.fromJSON(JSON.parse(raw));
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const scope = this.scope(context);
    const pageSize = params.pageSize ?? DEFAULT_PAGE_SIZE;
    // One context's tasks come from that context's own index (a resumed workflow looks its node's task
    // up this way): the cost follows the context, not everything the caller ever ran.
    const index = params.contextId ? this.contextIndexKey(scope, params.contextId) : this.indexKey(scope);
    const ids = await this.redis.zrange(index, 0, -1);
    let tasks: Task[] = [];
    const expired: string[] = [];
    for (let start = 0; start < ids.length; start += MGET_BATCH) {
      const batch = ids.slice(start, start + MGET_BATCH);
      const values = await this.redis.mget(batch.map((id) => this.taskKey(scope, id)));
      values.forEach((raw, index) => {
        if (raw === null) expired.push(batch[index]!);
        else tasks.push(Task.fromJSON(JSON.parse(raw)));
      });
    }
    // Index entries outlive their task when the task key expired first: prune them on the way.
    if (expired.length > 0) await this.redis.zrem(index, ...expired);

    if (params.contextId) tasks = tasks.filter((task) => task.contextId === params.contextId);
    if (params.status !== TaskState.TASK_STATE_UNSPECIFIED) tasks = tasks.filter((task) => task.status?.state === params.status);
    if (params.statusTimestampAfter) {
      const after = new Date(params.statusTimestampAfter).getTime();
      tasks = tasks.filter((task) => task.status?.timestamp !== undefined && new Date(task.status.timestamp).getTime() > after);
    }
    // Newest status first; ties broken by id so pages are stable.
    tasks.sort((a, b) => {
      const byTime = (b.status?.timestamp ?? '').localeCompare(a.status?.timestamp ?? '');
      return byTime !== 0 ? byTime : b.id.localeCompare(a.id);
    });
    const totalSize = tasks.length;
    if (params.pageToken) {
      const cursor = decodePageToken(params.pageToken);
      const index = tasks.findIndex((task) => (task.status?.timestamp ?? '') === cursor.timestamp && task.id === cursor.id);
      tasks = index === -1 ? [] : tasks.slice(index + 1);
    }
    const page = tasks.slice(0, pageSize);
    const last = page.at(-1);
    return {
      tasks: page.map((task) => (params.includeArtifacts === true ? task : { ...task, artifacts: [] })),
      nextPageToken: last !== undefined && tasks.length > page.length ? encodePageToken(last.status?.timestamp ?? '', last.id) : '',
      pageSize,
      totalSize,
    };
  }

  /** Closes the connection when the store opened it (`fromUrl`); an injected client is the caller's. */
  async close(): Promise<void> {
    if (this.ownsClient) await this.redis.quit();
  }

  private scope(context: ServerCallContext): string {
    return `${encodeURIComponent(context.tenant ?? '')}:${encodeURIComponent(this.ownerOf(context))}`;
  }

  private taskKey(scope: string, taskId: string): string {
    return `${this.prefix}a2a:task:${scope}:${taskId}`;
  }

  private indexKey(scope: string): string {
    return `${this.prefix}a2a:tasks:${scope}`;
  }

  private contextIndexKey(scope: string, contextId: string): string {
    return `${this.prefix}a2a:context-tasks:${scope}:${encodeURIComponent(contextId)}`;
  }
}

function timestampScore(task: Task): number {
  const parsed = task.status?.timestamp === undefined ? Number.NaN : Date.parse(task.status.timestamp);
  return Number.isNaN(parsed) ? Date.now() : parsed;
}

function encodePageToken(timestamp: string, id: string): string {
  return Buffer.from(JSON.stringify([timestamp, id])).toString('base64url');
}

function decodePageToken(token: string): { timestamp: string; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string') return { timestamp: value[0], id: value[1] };
  } catch {
    // fall through to the error below
  }
  throw new RequestMalformedError('Invalid pageToken');
}
