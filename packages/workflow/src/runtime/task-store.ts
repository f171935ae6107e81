import type { ListTasksRequest, ListTasksResponse, Task } from '@a2a-js/sdk';
import { TaskState } from '@a2a-js/sdk';
import { type ServerCallContext, type TaskStore, resolveUserScope } from '@a2a-js/sdk/server';
import { copyTask } from '@ensemble/a2a/server';
import type { Logger } from '@ensemble/telemetry';

/** Longest a running task's progress may wait before it reaches the shared store. */
export const DEFAULT_PROGRESS_FLUSH_MS = 100;

export interface OrchestratorTaskStoreOptions {
  /** See `DEFAULT_PROGRESS_FLUSH_MS`. 0 writes progress as soon as the previous write has landed. */
  progressFlushMs?: number;
  logger?: Logger;
}

/** A task this process is running: its latest state, kept here and written to the store behind. */
interface LiveTask {
  /** A private copy of the latest state the SDK saved. */
  task: Task;
  context: ServerCallContext;
  /** Written to the inner store at least once (the task exists for other readers). */
  stored: boolean;
  /** `task` has changes the inner store has not seen. */
  dirty: boolean;
  timer: NodeJS.Timeout | undefined;
}

const FINAL_STATES: ReadonlySet<TaskState> = new Set([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_REJECTED]);
const INTERRUPTED_STATES: ReadonlySet<TaskState> = new Set([TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED]);

function isFinal(task: Task | undefined): boolean {
  return task?.status?.state !== undefined && FINAL_STATES.has(task.status.state);
}

/** States a caller waits on (the stream ends there, or a later request reads the task): never written behind. */
function mustWriteThrough(task: Task): boolean {
  const state = task.status?.state;
  return state === undefined || FINAL_STATES.has(state) || INTERRUPTED_STATES.has(state);
}

function sameScope(a: ServerCallContext, b: ServerCallContext): boolean {
  return (a.tenant ?? '') === (b.tenant ?? '') && resolveUserScope(a) === resolveUserScope(b);
}

/**
 * The orchestrator's task store: the shared one (Redis) plus what the SDK offers nowhere else.
 *
 * - **Progress written behind.** The SDK loads, merges and saves the task for every event it streams:
 *   for a workflow that is a Redis read and write of the whole task per node event and per answer
 *   chunk, on the same connection and event loop as the workflow's critical path. For a task this
 *   process runs (see `watchCancels`), the latest state is kept here: `load` answers from it, and
 *   `working` updates reach the inner store at most every `progressFlushMs` (latest state wins). The
 *   first save, final and interrupted states are written through (awaited, after any write in flight),
 *   so a client that saw the stream end, or a request that resumes the task, always finds it stored.
 *   Other readers (`GetTask` on another replica, `ListTasks`) may see progress up to that long old.
 *   A task another process already finished (a `CancelTask` received there) is never overwritten.
 * - **Refusals.** The SDK turns anything an executor throws into a FAILED task, but a busy or unknown
 *   session must be a JSON-RPC error (the gateway maps it to 409/404). An error thrown while the SDK
 *   saves the first event of a request is answered as a JSON-RPC error, so a refused request registers
 *   its error here, publishes its task, and this store throws instead of saving.
 * - **Cancels of tasks running elsewhere.** `CancelTask` for a task with no event bus in this process
 *   (paused, or run by another orchestrator) is written straight to the store by the SDK without
 *   telling the executor; seeing that save is the only way to cancel the session behind it.
 */
export class OrchestratorTaskStore implements TaskStore {
  readonly #inner: TaskStore;
  readonly #progressFlushMs: number;
  readonly #logger: Logger | undefined;
  readonly #refusals = new Map<string, Error>();
  readonly #live = new Map<string, LiveTask>();
  /** Per task, the tail of its inner-store operations: writes land in order, reads after writes. Never rejects. */
  readonly #tails = new Map<string, Promise<void>>();
  #onForeignCancel: ((task: Task) => void) | undefined;
  #isLocal: (taskId: string) => boolean = () => false;

  constructor(inner: TaskStore, options: OrchestratorTaskStoreOptions = {}) {
    this.#inner = inner;
    this.#progressFlushMs = Math.max(0, options.progressFlushMs ?? DEFAULT_PROGRESS_FLUSH_MS);
    this.#logger = options.logger;
  }

  /** The next save of `taskId` throws `error` (and stores nothing). */
  refuse(taskId: string, error: Error): void {
    this.#refusals.set(taskId, error);
  }

  /**
   * `isLocal` says which tasks this process runs (their progress is kept here and written behind);
   * `onForeignCancel` is called when a task not running here is saved as canceled.
   */
  watchCancels(isLocal: (taskId: string) => boolean, onForeignCancel: (task: Task) => void): void {
    this.#isLocal = isLocal;
    this.#onForeignCancel = onForeignCancel;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const refusal = this.#refusals.get(task.id);
    if (refusal !== undefined) {
      this.#refusals.delete(task.id);
      throw refusal;
    }
    let live = this.#live.get(task.id);
    if (live === undefined && this.#isLocal(task.id) && !isFinal(task)) {
      live = { task, context, stored: false, dirty: false, timer: undefined };
      this.#live.set(task.id, live);
    }
    if (live === undefined || !sameScope(live.context, context)) {
      await this.#after(task.id, () => this.#inner.save(task, context));
      if (task.status?.state === TaskState.TASK_STATE_CANCELED && !this.#isLocal(task.id)) this.#onForeignCancel?.(task);
      return;
    }

    // The SDK keeps using the object it saved: keep our own copy (of the containers it changes: see
    // `copyTask`; a deep clone per event made a streamed answer quadratic in its chunks).
    live.task = copyTask(task);
    live.context = context;
    live.dirty = true;
    if (live.stored && !mustWriteThrough(task)) {
      this.#scheduleFlush(task.id, live);
      return;
    }
    this.#clearTimer(live);
    // Final or interrupted: this run is over (a follow-up turn is a new request with a new entry).
    if (mustWriteThrough(task)) this.#live.delete(task.id);
    await this.#after(task.id, () => this.#write(task.id, live));
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const live = this.#live.get(taskId);
    if (live !== undefined && sameScope(live.context, context)) return copyTask(live.task);
    // A write of ours still in flight lands first: never read a state older than one we were given.
    await this.#tails.get(taskId);
    return this.#inner.load(taskId, context);
  }

  list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    return this.#inner.list(params, context);
  }

  /**
   * The run of `taskId` in this process is over: its progress is no longer kept here. Pending changes
   * are written (in order, before any later read or write of the task). Events the SDK still has to
   * save for it afterwards go straight to the inner store.
   */
  release(taskId: string): void {
    const live = this.#live.get(taskId);
    if (live === undefined) return;
    this.#live.delete(taskId);
    this.#clearTimer(live);
    if (live.dirty) void this.#after(taskId, () => this.#write(taskId, live)).catch((error: unknown) => this.#logger?.warn({ err: error, task_id: taskId }, 'could not store task progress'));
  }

  /** Writes every pending change now and waits for all writes in flight (shutdown, tests). */
  async flush(): Promise<void> {
    for (const [taskId, live] of this.#live) {
      if (!live.dirty) continue;
      this.#clearTimer(live);
      void this.#after(taskId, () => this.#write(taskId, live)).catch((error: unknown) => this.#logger?.warn({ err: error, task_id: taskId }, 'could not store task progress'));
    }
    await Promise.all(this.#tails.values());
  }

  /** Tasks whose progress is currently kept here (observability, tests). */
  get liveTasks(): number {
    return this.#live.size;
  }

  /** Writes the live task's latest state, unless another process has finished the task meanwhile. */
  async #write(taskId: string, live: LiveTask): Promise<void> {
    if (!live.dirty) return;
    const task = live.task;
    live.dirty = false;
    try {
      if (live.stored) {
        // The SDK's own rule (a final task is not updated), kept now that our reads no longer see
        // other processes' writes: a `CancelTask` handled elsewhere wins over this run's states.
        const stored = await this.#inner.load(taskId, live.context);
        if (isFinal(stored)) return;
      }
      await this.#inner.save(task, live.context);
      live.stored = true;
    } catch (error) {
      // Still to write: the next flush or write-through carries it (it always writes the latest state).
      if (live.task === task) live.dirty = true;
      throw error;
    }
  }

  #scheduleFlush(taskId: string, live: LiveTask): void {
    if (live.timer !== undefined) return;
    live.timer = setTimeout(() => {
      live.timer = undefined;
      this.#after(taskId, () => this.#write(taskId, live)).catch((error: unknown) => this.#logger?.warn({ err: error, task_id: taskId }, 'could not store task progress'));
    }, this.#progressFlushMs);
    // Progress never keeps the process alive; shutdown writes final states through.
    live.timer.unref();
  }

  #clearTimer(live: LiveTask): void {
    if (live.timer !== undefined) clearTimeout(live.timer);
    live.timer = undefined;
  }

  /** Runs `operation` after every earlier operation on `taskId`; its own outcome is returned. */
  #after(taskId: string, operation: () => Promise<void>): Promise<void> {
    const previous = this.#tails.get(taskId) ?? Promise.resolve();
    const result = previous.then(operation);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(taskId, tail);
    void tail.then(() => {
      if (this.#tails.get(taskId) === tail) this.#tails.delete(taskId);
    });
    return result;
  }
}
