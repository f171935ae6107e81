import type { ApprovalRecord } from '@ensemble/protocol';

import type { ApprovalStore } from './approval-store.js';

export interface ExpirySweeperOptions {
  store: ApprovalStore;
  /** Called once per approval that expired (claimed by this process): resume its workflow. */
  onExpired(record: ApprovalRecord): void;
  /** How often to look for due approvals. */
  intervalMs: number;
  /** Called when a sweep fails (Redis down); the next tick tries again. */
  onError(error: unknown): void;
}

/**
 * One sweep: claims every due approval (each exactly once across processes, see `claimExpired`) and
 * hands it to `onExpired`. Returns how many this call claimed.
 */
export async function sweepExpiredApprovals(store: ApprovalStore, onExpired: (record: ApprovalRecord) => void): Promise<number> {
  let claimed = 0;
  for (;;) {
    const batch = await store.claimExpired();
    for (const record of batch) onExpired(record);
    claimed += batch.length;
    if (batch.length === 0) return claimed;
  }
}

/** Sweeps every `intervalMs` until the returned stop function is called (the timer does not keep the process alive). */
export function startExpirySweeper(options: ExpirySweeperOptions): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepExpiredApprovals(options.store, (record) => options.onExpired(record))
      .catch((error: unknown) => options.onError(error))
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
