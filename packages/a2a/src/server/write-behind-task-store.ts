import type { Artifact, ListTasksRequest, ListTasksResponse, Task } from '@a2a-js/sdk';
import { TaskState } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';
import type { Logger } from '@ensemble/telemetry';

export interface WriteBehindOptions {
  /**
   * Longest time an artifact-only change may wait before it is written. `0` writes every save through
   * (no batching). Default 50 ms.
   */
  flushIntervalMs?: number;
  /** Deferred saves of one task after which it is written anyway. Default 64. */
  maxDeferredSaves?: number;
  /** Tasks remembered as a baseline for deferral (oldest forgotten first). Default 10 000. */
  maxTrackedTasks?: number;
  logger?: Logger;
}

export const DEFAULT_WRITE_BEHIND_INTERVAL_MS = 50;

interface Entry {
  /** The latest snapshot handed to `save` (what `load` answers while a write is pending). */
  task: Task;
  context: ServerCallContext;
  /** The state last saved: a save in the same state is progress (deferrable), another state is not. */
  state: TaskState | undefined;
  /** Saves not written to the inner store yet. */
  deferred: number;
  timer: NodeJS.Timeout | undefined;
}

/** States after which no artifact event can follow: their entry is dropped once written. */
const SETTLED_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
  TaskState.TASK_STATE_INPUT_REQUIRED,
  TaskState.TASK_STATE_AUTH_REQUIRED,
]);

/**
 * A copy of the containers a task's users change: the task, its artifact list, each artifact, their part
 * lists, and the history list. The SDK loads and saves the whole task for every event, replacing fields
 * and pushing onto these lists but never editing a part or message in place; so these copies isolate the
 * stored snapshot from its callers, in time proportional to the number of parts instead of their size.
 * (`structuredClone` here made an orchestrator's progress stream quadratic: a quarter of its CPU on a
 * 50-node DAG.)
 */
export function copyTask(task: Task): Task {
  // Typed as always present, but a task built by hand or read from JSON may lack them (the SDK checks too).
  const { artifacts, history } = task as Partial<Task>;
  return {
    ...task,
    ...(artifacts === undefined ? {} : { artifacts: artifacts.map(copyArtifact) }),
    ...(history === undefined ? {} : { history: [...history] }),
  };
}

function copyArtifact(artifact: Artifact): Artifact {
  const { parts } = artifact as Partial<Artifact>;
  return parts === undefined ? { ...artifact } : { ...artifact, parts: [...parts] };
}

/** Same scoping as the SDK's own per-task write lock (tenant, owner, task id). */
function keyOf(taskId: string, context: ServerCallContext): string {
  return `${context.tenant ?? ''}\0${context.user?.userName ?? ''}\0${taskId}`;
}

/**
 * A `TaskStore` wrapper that batches the writes a streamed answer causes. The SDK loads and saves the
 * whole task for every event it processes, so a token-by-token artifact costs one store round trip per
 * token (with `RedisTaskStore`, a Redis MULTI each), and a workflow's progress stream one per progress
 * status. Here a save that keeps the task's state (new artifacts or history, a progress message or
 * metadata in the same `working` state) is kept in memory and written once per `flushIntervalMs`; a save
 * that changes the state (every final or interrupted state included) is written at once, together with
 * everything deferred before it. Clients still get every event on the stream: only the store write is
 * batched.
 *
 * Contract: `load` on this process reads its own writes (the pending snapshot, as a copy); writes of one
 * task reach the inner store in order; `list` and `flush` write everything pending first. Another
 * replica reading the inner store may see a running task's artifacts and progress up to `flushIntervalMs`
 * old; a crash loses at most that much streamed progress, never a state change.
 */
export class WriteBehindTaskStore implements TaskStore {
  private readonly entries = new Map<string, Entry>();
  /** Per-task chain of inner writes, so a deferred write never lands after a newer write-through. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly intervalMs: number;
  private readonly maxDeferred: number;
  private readonly maxTracked: number;

  constructor(
    private readonly inner: TaskStore,
    private readonly options: WriteBehindOptions = {},
  ) {
    this.intervalMs = Math.max(0, options.flushIntervalMs ?? DEFAULT_WRITE_BEHIND_INTERVAL_MS);
    this.maxDeferred = Math.max(1, options.maxDeferredSaves ?? 64);
    this.maxTracked = Math.max(1, options.maxTrackedTasks ?? 10_000);
  }

  /** Saves waiting to be written, across tasks (for tests and shutdown logs). */
  get pendingWrites(): number {
    let count = 0;
    for (const entry of this.entries.values()) count += entry.deferred;
    return count;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const key = keyOf(task.id, context);
    const state = task.status?.state;
    const previous = this.entries.get(key);
    const snapshot = copyTask(task);
    if (this.intervalMs > 0 && previous !== undefined && previous.state === state && previous.deferred + 1 < this.maxDeferred) {
      previous.task = snapshot;
      previous.context = context;
      previous.deferred += 1;
      previous.timer ??= this.schedule(key);
      return;
    }
    if (previous?.timer !== undefined) clearTimeout(previous.timer);
    if (state !== undefined && SETTLED_STATES.has(state)) this.entries.delete(key);
    else this.track(key, { task: snapshot, context, state, deferred: 0, timer: undefined });
    await this.write(key, snapshot, context);
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const entry = this.entries.get(keyOf(taskId, context));
    if (entry !== undefined && entry.deferred > 0) return copyTask(entry.task);
    // Wait for an in-flight write of this task, so a load never reads behind a save that returned.
    await this.chains.get(keyOf(taskId, context));
    return this.inner.load(taskId, context);
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    await this.flush();
    return this.inner.list(params, context);
  }

  /** Writes everything pending now (shutdown, listing). */
  async flush(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((key) => this.flushKey(key)));
    await Promise.all([...this.chains.values()]);
  }

  private schedule(key: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      void this.flushKey(key);
    }, this.intervalMs);
    // Pending writes must not hold a finished process open; `flush()` at shutdown writes them.
    timer.unref();
    return timer;
  }

  private async flushKey(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.deferred === 0) return;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.deferred = 0;
    await this.write(key, entry.task, entry.context).catch((error: unknown) => {
      // The next save of this task writes the whole snapshot again, so nothing is lost for good.
      this.options.logger?.warn({ err: error, task_id: entry.task.id }, 'deferred task write failed');
    });
  }

  private write(key: string, task: Task, context: ServerCallContext): Promise<void> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.inner.save(task, context));
    const settled = next.catch(() => undefined);
    this.chains.set(key, settled);
    void settled.then(() => {
      if (this.chains.get(key) === settled) this.chains.delete(key);
    });
    return next;
  }

  /** Remembers a task as a deferral baseline, forgetting the oldest idle ones past the cap. */
  private track(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size <= this.maxTracked) return;
    for (const [oldKey, old] of this.entries) {
      if (this.entries.size <= this.maxTracked) break;
      if (old.deferred === 0) this.entries.delete(oldKey);
    }
  }
}
