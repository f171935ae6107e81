export { DEFAULT_EVENT_LOG_MAX_LENGTH, DEFAULT_EVENT_LOG_TTL_MS, DEFAULT_READ_LIMIT, fencedOut, followEventLog } from './event-log.js';
export type { AppendOptions, EventLog, EventLogOptions, FollowOptions, LogRead, LoggedEvent, ReadOptions } from './event-log.js';
export { EventAppender } from './event-appender.js';
export { InMemoryEventLog } from './memory-event-log.js';
export type { InMemoryEventLogOptions } from './memory-event-log.js';
