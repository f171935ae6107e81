export { RedisEventLog } from './redis-event-log.js';
export type { RedisEventLogOptions } from './redis-event-log.js';
