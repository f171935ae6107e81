import { describeApprovalStoreConformance } from './testing/conformance.js';
import { InMemoryApprovalStore } from './memory-store.js';

// One process: every handle shares the same store (the suite's "other process" is the same object).
describeApprovalStoreConformance('InMemoryApprovalStore', async () => {
  let shared: InMemoryApprovalStore | undefined;
  return {
    open: async (now) => (shared ??= new InMemoryApprovalStore({ now })),
    cleanup: async () => undefined,
  };
});
