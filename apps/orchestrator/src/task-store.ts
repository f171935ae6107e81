import type { ListTasksRequest, ListTasksResponse, Task } from '@a2a-js/sdk';
import { TaskState } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';

/**
 * The orchestrator's task store: the real one (Redis) plus two seams the SDK offers nowhere else.
 *
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
  readonly #refusals = new Map<string, Error>();
  #onForeignCancel: ((task: Task) => void) | undefined;
  #isLocal: (taskId: string) => boolean = () => false;

  constructor(inner: TaskStore) {
    this.#inner = inner;
  }

  /** The next save of `taskId` throws `error` (and stores nothing). */
  refuse(taskId: string, error: Error): void {
    this.#refusals.set(taskId, error);
  }

  /** Called when a task not running in this process is saved as canceled. */
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
    await this.#inner.save(task, context);
    if (task.status?.state === TaskState.TASK_STATE_CANCELED && !this.#isLocal(task.id)) this.#onForeignCancel?.(task);
  }

  load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    return this.#inner.load(taskId, context);
  }

  list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    return this.#inner.list(params, context);
  }
}
