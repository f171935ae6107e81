import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { EventAppender } from './event-appender.js';
import type { EventLog } from './event-log.js';
import { InMemoryEventLog } from './memory-event-log.js';

describe('EventAppender', () => {
  it('appends in call order, batching what queues up while an append is in flight', async () => {
    const log = new InMemoryEventLog<string>();
    const calls: number[] = [];
    const counting: EventLog<string> = Object.assign(Object.create(log) as EventLog<string>, {
      append: (sessionId: string, events: readonly string[]) => {
        calls.push(events.length);
        return log.append(sessionId, events);
      },
    });
    const appender = new EventAppender(counting, 's1');
    const positions = await Promise.all(['a', 'b', 'c', 'd'].map((event) => appender.append(event)));
    expect(positions).toEqual([1, 2, 3, 4]);
    // The first append goes alone; the three queued behind it go in one round trip.
    expect(calls).toEqual([1, 3]);
    expect((await log.read('s1')).events.map((logged) => logged.event)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('rejects the events of a failed append, goes on with the next ones, and drains', async () => {
    const log = new InMemoryEventLog<string>();
    let failNext = true;
    const flaky: EventLog<string> = Object.assign(Object.create(log) as EventLog<string>, {
      append: (sessionId: string, events: readonly string[]) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new EnsembleError(ErrorCode.Unavailable, 'redis down'));
        }
        return log.append(sessionId, events);
      },
    });
    const appender = new EventAppender(flaky, 's1');
    const lost = appender.append('lost');
    const kept = appender.append('kept');
    await expect(lost).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    await expect(kept).resolves.toBe(1);
    await appender.drain();
    expect((await log.read('s1')).events.map((logged) => logged.event)).toEqual(['kept']);
  });

  it('passes the writer’s fencing token, so a fenced-out writer’s events are refused', async () => {
    const log = new InMemoryEventLog<string>();
    await log.fence('s1', 2);
    await expect(new EventAppender(log, 's1', { fence: 1 }).append('stale')).rejects.toMatchObject({ code: ErrorCode.Conflict });
    await expect(new EventAppender(log, 's1', { fence: 2 }).append('fresh')).resolves.toBe(1);
  });
});
