import type { NodeResult } from '@ensemble/protocol';

/** Stores one node's record (the session store's `putNodeResult`, bound to a session). */
export type NodeResultWrite = (nodeId: string, result: NodeResult) => Promise<void>;

/**
 * The engine's `persist` with only the writes that durability needs on the critical path.
 *
 * A node's result (completed, failed, skipped, waiting for approval, cancelled) is awaited: the engine
 * starts its dependents only once it is stored, which is what lets a resumed workflow skip finished
 * nodes. The `running` record that precedes every attempt is written behind instead: resume treats a
 * `running` node exactly like one with no record (it runs again), so losing it in a crash changes
 * nothing, and waiting for it would add a Redis round trip before every agent call.
 *
 * Writes of one node land in the order they were made (the result is written after its `running`
 * record, never overwritten by it). A failed write behind is reported by the next awaited write of any
 * node, which fails the run as a failed awaited write always did, and by `drain()`.
 */
export class NodeResultWriter {
  readonly #write: NodeResultWrite;
  /** Per node, the tail of its writes. Never rejects. */
  readonly #tails = new Map<string, Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(write: NodeResultWrite) {
    this.#write = write;
  }

  /** For `runDag`'s `persist` option. */
  readonly persist = async (nodeId: string, result: NodeResult): Promise<void> => {
    if (this.#failure !== undefined) throw this.#failure.error;
    const previous = this.#tails.get(nodeId) ?? Promise.resolve();
    const written = previous.then(() => {
      // An earlier write of this node failed: a result written after it could be overwritten by
      // nothing, but the run is failing anyway; do not store more.
      if (this.#failure !== undefined) throw this.#failure.error;
      return this.#write(nodeId, result);
    });
    const tail = written.then(
      () => undefined,
      (error: unknown) => {
        this.#failure ??= { error };
      },
    );
    this.#tails.set(nodeId, tail);
    void tail.then(() => {
      if (this.#tails.get(nodeId) === tail) this.#tails.delete(nodeId);
    });
    if (result.status !== 'running') await written;
  };

  /** Waits for every write made so far; rejects with the first write failure, if any. */
  async drain(): Promise<void> {
    await Promise.all(this.#tails.values());
    if (this.#failure !== undefined) throw this.#failure.error;
  }
}
