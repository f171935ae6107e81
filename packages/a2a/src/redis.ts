export { RedisTaskStore } from './store/redis-task-store.js';
export { RedisPushNotificationStore } from './store/redis-push-notification-store.js';
export type { RedisPushNotificationStoreOptions } from './store/redis-push-notification-store.js';
export type { RedisTaskStoreOptions } from './store/redis-task-store.js';
export { RedisAgentCardCache } from './discovery/card-cache.js';
export type { RedisAgentCardCacheOptions } from './discovery/card-cache.js';
export { openAgentTaskStore } from './store/open-task-store.js';
export type { OpenedTaskStore } from './store/open-task-store.js';
