import { describeEventLogConformance } from './testing/conformance.js';
import type { SampleEvent } from './testing/conformance.js';
import { InMemoryEventLog } from './memory-event-log.js';

describeEventLogConformance('InMemoryEventLog', async () => {
  let now = Date.UTC(2025, 0, 1);
  return {
    open: async (options) => new InMemoryEventLog<SampleEvent>({ ...options, now: () => now }),
    // One process: every handle is the same log.
    peer: async (log) => ({ append: log.append.bind(log), read: log.read.bind(log), head: log.head.bind(log), fence: log.fence.bind(log), expire: log.expire.bind(log), close: async () => undefined }),
    elapse: async (ms) => void (now += ms),
    trimSlack: 0,
    cleanup: async () => undefined,
  };
});
