/** One request sim-llm received on its OpenAI surface, as the control API returns it. */
export interface RecordedRequest {
  id: string;
  path: string;
  /** ISO-8601 timestamps. */
  receivedAt: string;
  finishedAt?: string;
  /** Only the headers tests assert on; absent ones are omitted. */
  headers: { authorization?: string; traceparent?: string; 'x-request-id'?: string };
  /** The JSON body as received (unknown fields included); `null` for GET requests. */
  body: unknown;
  /** True when the client went away before the response was complete. */
  aborted: boolean;
  /** True when sim-llm cut the connection on purpose (`cutAfterChunks`). */
  cut: boolean;
  /** The HTTP status sent; `null` while undecided, 499 when the client left before any status was sent. */
  status: number | null;
  /** What produced the reply: `sim`, `script:<id>`, `behaviour:<name>` or `fallback:<name>`. */
  replySource?: string;
  /** The token usage the reply reports (set once a completion was planned; absent for errors and hangs). */
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface WaitForRequestsOptions {
  count: number;
  /** Count only aborted (true) or only not-aborted (false) requests; all when omitted. */
  aborted?: boolean;
  timeoutMs: number;
  /** Stops waiting (for example when the long-polling client disconnects). */
  signal?: AbortSignal;
}

interface Waiter {
  count: number;
  aborted: boolean | undefined;
  resolve: (requests: RecordedRequest[]) => void;
}

/**
 * A bounded, in-memory log of received requests (oldest dropped first) with waiters, so tests can await
 * "the upstream saw N requests / an abort" instead of sleeping. Records are mutated in place while a
 * request runs; readers get shallow copies.
 */
export class RequestLog {
  readonly capacity: number;
  private readonly records: RecordedRequest[] = [];
  private readonly waiters = new Set<Waiter>();
  private nextId = 1;

  constructor(capacity = 1000) {
    this.capacity = capacity;
  }

  /** Starts a record; the caller updates it through `update`/`finish` as the request progresses. */
  start(path: string, headers: RecordedRequest['headers'], body: unknown): RecordedRequest {
    const record: RecordedRequest = {
      id: `req_${this.nextId++}`,
      path,
      receivedAt: new Date().toISOString(),
      headers,
      body,
      aborted: false,
      cut: false,
      status: null,
    };
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.shift();
    this.notify();
    return record;
  }

  /** Marks a record finished (idempotent: the first outcome wins). */
  finish(record: RecordedRequest, outcome: { status?: number; aborted?: boolean; cut?: boolean }): void {
    if (record.finishedAt !== undefined) return;
    record.finishedAt = new Date().toISOString();
    if (outcome.status !== undefined) record.status = outcome.status;
    if (outcome.aborted === true) {
      record.aborted = true;
      record.status ??= 499;
    }
    if (outcome.cut === true) record.cut = true;
    this.notify();
  }

  list(filter: { aborted?: boolean } = {}): RecordedRequest[] {
    const matching = filter.aborted === undefined ? this.records : this.records.filter((record) => record.aborted === filter.aborted);
    return matching.map((record) => ({ ...record, headers: { ...record.headers } }));
  }

  clear(): void {
    this.records.length = 0;
  }

  /**
   * Resolves with the matching requests as soon as at least `count` exist; rejects with a
   * `WaitTimeoutError` after `timeoutMs`, or with the signal's reason when it aborts.
   */
  waitFor(options: WaitForRequestsOptions): Promise<RecordedRequest[]> {
    const { count, aborted } = options;
    if (count > this.capacity) {
      return Promise.reject(new RangeError(`count ${count} exceeds the request log capacity of ${this.capacity}`));
    }
    const ready = this.matching(count, aborted);
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { count, aborted, resolve: (requests) => settle(() => resolve(requests)) };
      const onAbort = () => settle(() => reject(new Error('Stopped waiting: the signal was aborted', { cause: options.signal?.reason })));
      const timer = setTimeout(() => settle(() => reject(new WaitTimeoutError(count, options.timeoutMs))), options.timeoutMs);
      const settle = (action: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        options.signal?.removeEventListener('abort', onAbort);
        action();
      };
      if (options.signal?.aborted === true) {
        onAbort();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  private matching(count: number, aborted: boolean | undefined): RecordedRequest[] | undefined {
    const found = this.list(aborted === undefined ? {} : { aborted });
    return found.length >= count ? found : undefined;
  }

  private notify(): void {
    for (const waiter of this.waiters) {
      const ready = this.matching(waiter.count, waiter.aborted);
      if (ready !== undefined) waiter.resolve(ready);
    }
  }
}

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  constructor(count: number, timeoutMs: number) {
    super(`Fewer than ${count} matching requests arrived within ${timeoutMs} ms`);
  }
}
