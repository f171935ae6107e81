import { randomUUID } from 'node:crypto';

import { ErrorCode } from '@ensemble/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { EventLog, EventLogOptions } from '../event-log.js';
import { followEventLog } from '../event-log.js';
import { rejection } from '@ensemble/protocol/testing';

/** The events the suite appends: any JSON value works; these make order and origin checkable. */
export interface SampleEvent {
  kind: string;
  writer?: number;
  n?: number;
  text?: string;
}

/** What the suite needs from an implementation. */
export interface EventLogHarness {
  /** A log with the given options (a fresh handle; its data is shared with `peer()` handles of it). */
  open(options?: EventLogOptions): Promise<EventLog<SampleEvent>>;
  /** Another handle on the data of `log`, as another process would have (Redis: its own client). */
  peer(log: EventLog<SampleEvent>): Promise<EventLog<SampleEvent>>;
  /** Lets time pass for TTLs (memory: moves the clock; Redis: waits). */
  elapse(ms: number): Promise<void>;
  /** Events an implementation may keep beyond `maxLength` (its documented trimming bound). */
  trimSlack: number;
  cleanup(): Promise<void>;
}


/**
 * The `EventLog` contract as tests, run on every implementation (in-memory in a unit test, Redis in an
 * integration test) so they cannot drift apart.
 */
export function describeEventLogConformance(name: string, setup: () => Promise<EventLogHarness>): void {
  describe(`EventLog conformance: ${name}`, () => {
    let harness: EventLogHarness;
    let log: EventLog<SampleEvent>;
    const opened: EventLog<SampleEvent>[] = [];
    const open = async (options?: EventLogOptions): Promise<EventLog<SampleEvent>> => {
      const handle = await harness.open(options);
      opened.push(handle);
      return handle;
    };
    const peer = async (of: EventLog<SampleEvent>): Promise<EventLog<SampleEvent>> => {
      const handle = await harness.peer(of);
      opened.push(handle);
      return handle;
    };
    beforeEach(async () => {
      harness = await setup();
      log = await open();
    });
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((handle) => handle.close()));
      await harness.cleanup();
    });

    describe('ordering and positions', () => {
      it('numbers events 1, 2, 3… in append order, a batch consecutively, and reads them back in order', async () => {
        const session = randomUUID();
        expect(await log.append(session, [{ kind: 'a' }, { kind: 'b' }, { kind: 'c' }])).toEqual([1, 2, 3]);
        expect(await log.append(session, [{ kind: 'd' }])).toEqual([4]);
        expect(await log.append(session, [])).toEqual([]);
        const read = await log.read(session);
        expect(read.truncated).toBe(false);
        expect(read.events).toEqual([
          { position: 1, event: { kind: 'a' } },
          { position: 2, event: { kind: 'b' } },
          { position: 3, event: { kind: 'c' } },
          { position: 4, event: { kind: 'd' } },
        ]);
        expect(await log.head(session)).toBe(4);
      });

      it('keeps sessions apart: each has its own positions', async () => {
        const [one, two] = [randomUUID(), randomUUID()];
        await log.append(one, [{ kind: 'one-1' }, { kind: 'one-2' }]);
        expect(await log.append(two, [{ kind: 'two-1' }])).toEqual([1]);
        expect((await log.read(two)).events).toEqual([{ position: 1, event: { kind: 'two-1' } }]);
        expect(await log.head(one)).toBe(2);
      });

      it('returns copies: changing an appended or read event does not change the log', async () => {
        const session = randomUUID();
        const event: SampleEvent = { kind: 'original' };
        await log.append(session, [event]);
        event.kind = 'changed';
        const first = await log.read(session);
        (first.events[0]?.event as SampleEvent).kind = 'changed too';
        expect((await log.read(session)).events[0]?.event).toEqual({ kind: 'original' });
      });

      it('round-trips JSON values with unicode and nesting intact', async () => {
        const session = randomUUID();
        const event: SampleEvent = { kind: 'token', text: 'Paris 24°C, Rome 27°C 🌤 — "quoted"\nnew line' };
        await log.append(session, [event]);
        expect((await log.read(session)).events[0]?.event).toEqual(event);
      });
    });

    describe('read from a position', () => {
      it('reads after a position, at most `limit`, and nothing after the head or for unknown sessions', async () => {
        const session = randomUUID();
        await log.append(session, Array.from({ length: 5 }, (_, n) => ({ kind: 'e', n: n + 1 })));
        expect((await log.read(session, { after: 2 })).events.map((e) => e.position)).toEqual([3, 4, 5]);
        expect((await log.read(session, { after: 2, limit: 2 })).events.map((e) => e.event.n)).toEqual([3, 4]);
        expect(await log.read(session, { after: 5 })).toEqual({ events: [], truncated: false });
        expect(await log.read(session, { after: 99 })).toEqual({ events: [], truncated: false });
        expect(await log.read(randomUUID())).toEqual({ events: [], truncated: false });
        expect(await log.head(randomUUID())).toBe(0);
      });

      it('a reader paging through with `after` = last seen position sees every event once, in order', async () => {
        const session = randomUUID();
        await log.append(session, Array.from({ length: 23 }, (_, n) => ({ kind: 'e', n: n + 1 })));
        const seen: number[] = [];
        let after = 0;
        for (;;) {
          const { events } = await log.read(session, { after, limit: 5 });
          if (events.length === 0) break;
          for (const logged of events) seen.push(logged.event.n ?? -1);
          after = events.at(-1)?.position ?? after;
        }
        expect(seen).toEqual(Array.from({ length: 23 }, (_, n) => n + 1));
      });
    });

    describe('concurrent appenders', () => {
      it('serialises appenders on different handles: dense unique positions, each batch contiguous, each writer in order', async () => {
        const session = randomUUID();
        const writers = [log, ...(await Promise.all([1, 2, 3].map(() => peer(log))))];
        const perWriter = 15;
        const results = await Promise.all(
          writers.map(async (writer, w) => {
            const positions: number[][] = [];
            for (let n = 0; n < perWriter; n += 1) positions.push(await writer.append(session, [{ kind: 'batch', writer: w, n }, { kind: 'batch-end', writer: w, n }]));
            return positions;
          }),
        );
        const all = results.flat(2).sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: writers.length * perWriter * 2 }, (_, i) => i + 1));
        for (const batches of results) for (const batch of batches) expect(batch[1]).toBe((batch[0] ?? 0) + 1);
        const { events } = await log.read(session, { limit: 10_000 });
        expect(events).toHaveLength(all.length);
        for (let w = 0; w < writers.length; w += 1) {
          const own = events.filter((e) => e.event.writer === w && e.event.kind === 'batch').map((e) => e.event.n);
          expect(own).toEqual(Array.from({ length: perWriter }, (_, n) => n));
        }
      });
    });

    describe('fencing', () => {
      it('refuses appends with a token below the fence; a higher token raises it', async () => {
        const session = randomUUID();
        expect(await log.append(session, [{ kind: 'owner-1' }], { fence: 1 })).toEqual([1]);
        const takeover = await peer(log);
        await takeover.fence(session, 2);
        const refused = await rejection(log.append(session, [{ kind: 'late write of owner 1' }], { fence: 1 }));
        expect(refused.code).toBe(ErrorCode.Conflict);
        expect(refused.wireCode).toBe('session_fenced');
        expect(await takeover.append(session, [{ kind: 'owner-2' }], { fence: 2 })).toEqual([2]);
        // An append with a higher token fences by itself; fence() never lowers.
        expect(await takeover.append(session, [{ kind: 'owner-3' }], { fence: 3 })).toEqual([3]);
        await log.fence(session, 1);
        expect((await rejection(takeover.append(session, [{ kind: 'x' }], { fence: 2 }))).code).toBe(ErrorCode.Conflict);
        expect((await log.read(session)).events.map((e) => e.event.kind)).toEqual(['owner-1', 'owner-2', 'owner-3']);
      });
    });

    describe('TTL', () => {
      it('lives ttlMs past the last append (sliding), then reads as empty and numbers from 1 again', async () => {
        const ttl = await open({ ttlMs: 600 });
        const session = randomUUID();
        await ttl.append(session, [{ kind: 'first' }]);
        await harness.elapse(350);
        await ttl.append(session, [{ kind: 'second' }]);
        await harness.elapse(350);
        expect((await ttl.read(session)).events.map((e) => e.event.kind)).toEqual(['first', 'second']);
        await harness.elapse(700);
        expect(await ttl.read(session)).toEqual({ events: [], truncated: false });
        expect(await ttl.head(session)).toBe(0);
        expect(await ttl.append(session, [{ kind: 'new life' }])).toEqual([1]);
      });

      it('expire() sets the remaining lifetime explicitly', async () => {
        const session = randomUUID();
        await log.append(session, [{ kind: 'done' }]);
        await log.expire(session, 300);
        expect(await log.head(session)).toBe(1);
        await harness.elapse(600);
        expect(await log.head(session)).toBe(0);
      });
    });

    describe('trimming', () => {
      it(`keeps at least the newest maxLength events within the documented bound, and flags reads that lost events`, async () => {
        const maxLength = 20;
        const small = await open({ maxLength });
        const session = randomUUID();
        const total = maxLength + harness.trimSlack + 80;
        for (let n = 1; n <= total; n += 1) await small.append(session, [{ kind: 'e', n }]);
        const everything = await small.read(session, { limit: 100_000 });
        expect(everything.truncated).toBe(true);
        expect(everything.events.length).toBeGreaterThanOrEqual(maxLength);
        expect(everything.events.length).toBeLessThanOrEqual(maxLength + harness.trimSlack);
        expect(everything.events.at(-1)).toEqual({ position: total, event: { kind: 'e', n: total } });
        const positions = everything.events.map((e) => e.position);
        expect(positions).toEqual(Array.from({ length: positions.length }, (_, i) => total - positions.length + 1 + i));
        const recent = await small.read(session, { after: total - maxLength });
        expect(recent.truncated).toBe(false);
        expect(recent.events).toHaveLength(maxLength);
      });
    });

    describe('live tail', () => {
      it('a waiting read wakes on an append from another handle, promptly', async () => {
        const session = randomUUID();
        await log.append(session, [{ kind: 'before' }]);
        const writer = await peer(log);
        const started = Date.now();
        const waiting = log.read(session, { after: 1, waitMs: 5_000 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        await writer.append(session, [{ kind: 'live' }]);
        const read = await waiting;
        expect(read.events).toEqual([{ position: 2, event: { kind: 'live' } }]);
        expect(Date.now() - started).toBeLessThan(2_000);
      });

      it('a waiting read on a session with no log yet wakes on its first append', async () => {
        const session = randomUUID();
        const waiting = log.read(session, { waitMs: 5_000 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        await (await peer(log)).append(session, [{ kind: 'first' }]);
        expect((await waiting).events.map((e) => e.position)).toEqual([1]);
      });

      it('times out with nothing, and an abort ends the wait at once', async () => {
        const session = randomUUID();
        const timedOut = Date.now();
        expect(await log.read(session, { waitMs: 150 })).toEqual({ events: [], truncated: false });
        expect(Date.now() - timedOut).toBeGreaterThanOrEqual(100);
        const controller = new AbortController();
        const aborted = Date.now();
        const waiting = log.read(session, { waitMs: 10_000, signal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        expect(await waiting).toEqual({ events: [], truncated: false });
        expect(Date.now() - aborted).toBeLessThan(2_000);
        // The handle still works after an aborted wait.
        await log.append(session, [{ kind: 'after abort' }]);
        expect((await log.read(session, { waitMs: 1_000 })).events).toHaveLength(1);
      });

      it('followEventLog replays from a position, then follows live appends, without gaps or duplicates', async () => {
        const session = randomUUID();
        await log.append(session, [{ kind: 'e', n: 1 }, { kind: 'e', n: 2 }, { kind: 'e', n: 3 }]);
        const writer = await peer(log);
        const controller = new AbortController();
        const seen: number[] = [];
        const following = (async () => {
          for await (const logged of followEventLog(log, session, { after: 1, signal: controller.signal, waitMs: 1_000 })) {
            seen.push(logged.position);
            if (logged.position === 8) controller.abort();
          }
        })();
        for (let n = 4; n <= 8; n += 1) {
          await writer.append(session, [{ kind: 'e', n }]);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await following;
        expect(seen).toEqual([2, 3, 4, 5, 6, 7, 8]);
      });
    });
  });
}
