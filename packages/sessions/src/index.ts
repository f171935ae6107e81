export { InMemorySessionStore } from './memory-store.js';
export type { InMemorySessionStoreOptions } from './memory-store.js';
export { DEFAULT_LEASE_TTL_MS, DEFAULT_SESSION_TTL_MS, DEFAULT_TOMBSTONE_TTL_MS } from './session-store.js';
export type { CreateSessionInput, FinishOutcome, LeaseOptions, ListResumableOptions, SessionLease, SessionStore } from './session-store.js';
