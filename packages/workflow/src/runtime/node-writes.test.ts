import type { NodeResult } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { NodeResultWriter } from './node-writes.js';

function result(status: NodeResult['status'], output: string | null = null): NodeResult {
  return { status, output, error: null, attempts: 1, agent: 'worker', startedAt: null, finishedAt: null, taskId: null, approvalContext: null, skipReason: null };
}

/** A store whose writes finish only when the test says so, recording the order they land in. */
function gatedStore() {
  const landed: string[] = [];
  const pending: { label: string; finish: () => void; fail: (error: Error) => void }[] = [];
  const write = (nodeId: string, value: NodeResult) =>
    new Promise<void>((resolve, reject) => {
      const label = `${nodeId}:${value.status}`;
      pending.push({
        label,
        finish: () => {
          landed.push(label);
          resolve();
        },
        fail: reject,
      });
    });
  /** Lets the oldest write still pending (optionally of one label) finish. */
  const release = async (label?: string) => {
    await settle();
    const index = label === undefined ? 0 : pending.findIndex((entry) => entry.label === label);
    const [entry] = pending.splice(index, 1);
    if (entry === undefined) throw new Error(`no pending write ${label ?? ''}`);
    entry.finish();
    await settle();
  };
  const failNext = async (error: Error) => {
    await settle();
    pending.shift()?.fail(error);
    await settle();
  };
  return { write, landed, pending, release, failNext };
}

/** Lets queued promise reactions run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('NodeResultWriter', () => {
  it('does not wait for a running record, but stores the result only after it, in order', async () => {
    const store = gatedStore();
    const writer = new NodeResultWriter(store.write);

    await writer.persist('a', result('running'));
    let completed = false;
    const done = writer.persist('a', result('completed', 'out')).then(() => {
      completed = true;
    });
    await settle();
    // The result's write has not even started: the running record is still being written.
    expect(store.pending.map((entry) => entry.label)).toEqual(['a:running']);

    await store.release('a:running');
    expect(completed).toBe(false);
    await store.release('a:completed');
    await done;
    expect(completed).toBe(true);
    expect(store.landed).toEqual(['a:running', 'a:completed']);
  });

  it('writes different nodes independently', async () => {
    const store = gatedStore();
    const writer = new NodeResultWriter(store.write);
    await writer.persist('a', result('running'));
    const b = writer.persist('b', result('completed'));
    await settle();
    expect(store.pending.map((entry) => entry.label)).toEqual(['a:running', 'b:completed']);
    await store.release('b:completed');
    await b;
    expect(store.landed).toEqual(['b:completed']);
    await store.release('a:running');
    await writer.drain();
  });

  it('reports a failed write behind at the next awaited write and in drain(), and stores nothing more', async () => {
    const store = gatedStore();
    const writer = new NodeResultWriter(store.write);
    await writer.persist('a', result('running'));
    const completed = expect(writer.persist('a', result('completed'))).rejects.toThrow('redis down');
    await store.failNext(new Error('redis down'));
    await completed;
    await expect(writer.persist('b', result('failed'))).rejects.toThrow('redis down');
    await expect(writer.drain()).rejects.toThrow('redis down');
    expect(store.pending).toEqual([]);
    expect(store.landed).toEqual([]);
  });

  it('rejects an awaited write that fails', async () => {
    const store = gatedStore();
    const writer = new NodeResultWriter(store.write);
    const skipped = expect(writer.persist('a', result('skipped'))).rejects.toThrow('no such session');
    await store.failNext(new Error('no such session'));
    await skipped;
  });

  it('drain() waits for writes behind', async () => {
    const store = gatedStore();
    const writer = new NodeResultWriter(store.write);
    await writer.persist('a', result('running'));
    let drained = false;
    const draining = writer.drain().then(() => {
      drained = true;
    });
    await settle();
    expect(drained).toBe(false);
    await store.release();
    await draining;
    expect(store.landed).toEqual(['a:running']);
  });
});
