export { RedisSessionStore } from './redis-store.js';
export type { RedisSessionStoreOptions } from './redis-store.js';
