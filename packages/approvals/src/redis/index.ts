export { RedisApprovalStore } from './redis-store.js';
export type { RedisApprovalStoreOptions } from './redis-store.js';
