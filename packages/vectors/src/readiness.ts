import type { VectorStore } from './types.js';

/**
 * A readiness check (the shape `@ensemble/service`'s `mountReadiness` takes) that the vector store's
 * database answers. `stats()` is one small query on either backend. The driver's error names the host it
 * tried, so the probe's answer says only what failed; the cause is in the store's own logs.
 */
export function vectorStoreReadiness(store: Pick<VectorStore, 'stats'>, name = 'database'): { name: string; check(signal: AbortSignal): Promise<void> } {
  return {
    name,
    async check() {
      try {
        await store.stats();
      } catch {
        throw new Error('the vector database did not answer');
      }
    },
  };
}
