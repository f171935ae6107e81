/** How streamed text is batched into artifact events (opt-in). */
export interface ChunkCoalescingOptions {
  /**
   * Longest time a piece of text waits for more before it is published. `0` (the default) publishes
   * every piece at once: callers see the answer token by token, and the task-store cost of that is
   * absorbed by `WriteBehindTaskStore` instead. Set it (e.g. 50 ms) for agents whose clients prefer
   * fewer, larger events.
   */
  flushIntervalMs?: number;
  /** Buffered text is published as soon as it reaches this many characters. Default 2048. */
  maxBufferedChars?: number;
}

export const DEFAULT_CHUNK_FLUSH_INTERVAL_MS = 0;
export const DEFAULT_CHUNK_MAX_BUFFERED_CHARS = 2048;

/** Receives one coalesced piece: its text, whether it ends the artifact, and the artifact name last asked for. */
export type CoalescedChunkSink = (text: string, lastChunk: boolean, name: string | undefined) => void;

/**
 * Batches the pieces of one streamed text artifact into fewer artifact events. Text is only ever
 * concatenated, never reordered or dropped: the owner calls `flush()` before publishing any other event
 * (status, data artifact, final state), so the event order a client sees is the order the agent produced
 * it in, minus the splits inside one run of text.
 */
export class ChunkCoalescer {
  private buffered = '';
  private name: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly maxChars: number;

  constructor(
    private readonly sink: CoalescedChunkSink,
    options: ChunkCoalescingOptions = {},
  ) {
    this.intervalMs = Math.max(0, options.flushIntervalMs ?? DEFAULT_CHUNK_FLUSH_INTERVAL_MS);
    this.maxChars = Math.max(1, options.maxBufferedChars ?? DEFAULT_CHUNK_MAX_BUFFERED_CHARS);
  }

  /** Characters waiting to be published. */
  get pendingChars(): number {
    return this.buffered.length;
  }

  /**
   * Adds a piece. Publishes at once (with everything buffered before it) when it is the `last` one, when
   * coalescing is off, or when the buffer is full; otherwise within the interval.
   */
  add(text: string, options: { name?: string; last?: boolean } = {}): void {
    this.buffered += text;
    if (options.name !== undefined) this.name = options.name;
    if (options.last === true) {
      this.flush(true);
      return;
    }
    if (this.buffered === '') return;
    if (this.intervalMs === 0 || this.buffered.length >= this.maxChars) {
      this.flush(false);
      return;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush(false);
      }, this.intervalMs);
      // A pending flush must not keep a finished process alive; the owner flushes at the end anyway.
      this.timer.unref();
    }
  }

  /**
   * Publishes what is buffered, marked `lastChunk` when `last`. Nothing buffered: nothing is published
   * (no empty events), even when `last`.
   */
  flush(last: boolean): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.buffered === '') return;
    const text = this.buffered;
    this.buffered = '';
    this.sink(text, last, this.name);
  }

  /** Drops the timer without publishing (the run is over and its final state already out). */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.buffered = '';
  }
}
