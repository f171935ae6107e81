import type { AppendOptions, EventLog } from './event-log.js';

interface Pending<T> {
  event: T;
  resolve(position: number): void;
  reject(error: unknown): void;
}

/**
 * One writer's ordered appends to one session's log, without making the writer wait on each round trip:
 * `append()` returns at once with a promise of the event's position; events queued while an append is in
 * flight go together in the next one (one Redis round trip for a burst of tokens). Positions resolve in
 * append order, so a caller that publishes each event when its position is known publishes them in order.
 */
export class EventAppender<T> {
  readonly #log: EventLog<T>;
  readonly #sessionId: string;
  readonly #options: AppendOptions;
  #queue: Pending<T>[] = [];
  #flushing: Promise<void> | undefined;

  constructor(log: EventLog<T>, sessionId: string, options: AppendOptions = {}) {
    this.#log = log;
    this.#sessionId = sessionId;
    this.#options = options;
  }

  get sessionId(): string {
    return this.#sessionId;
  }

  /** Queues `event`; resolves with its position, or rejects with the append's error (the event is lost). */
  append(event: T): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /**
   * The last event queued and not yet sent (an append is in flight), or `undefined`. A caller may still
   * change it in place: it is read when its batch is sent. The sink merges answer text into it, so a
   * burst of tokens that arrives while the log is busy becomes one event instead of one per token.
   */
  lastQueued(): T | undefined {
    return this.#queue.at(-1)?.event;
  }

  /** Resolves when every event queued so far has been appended (or has failed). */
  async drain(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          const positions = await this.#log.append(
            this.#sessionId,
            batch.map((pending) => pending.event),
            this.#options,
          );
          batch.forEach((pending, index) => pending.resolve(positions[index] ?? 0));
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }
}
