import { InMemoryTaskStore } from '@a2a-js/sdk/server';

import { describeTaskStoreConformance } from './task-store.conformance.js';

// The SDK's own in-memory store is the reference the Redis store is held to.
describeTaskStoreConformance('InMemoryTaskStore (SDK)', async () => ({ store: new InMemoryTaskStore(), cleanup: async () => {} }));
