import { afterEach, describe, expect, it, vi } from 'vitest';

import { ChunkCoalescer } from './chunk-coalescer.js';

type Published = [text: string, last: boolean, name: string | undefined];

function coalescer(options?: ConstructorParameters<typeof ChunkCoalescer>[1]) {
  const published: Published[] = [];
  const instance = new ChunkCoalescer((text, last, name) => published.push([text, last, name]), options);
  return { instance, published };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ChunkCoalescer', () => {
  it('publishes pieces added within one interval as one, when the interval ends', () => {
    vi.useFakeTimers();
    const { instance, published } = coalescer({ flushIntervalMs: 50 });
    instance.add('a');
    instance.add('b', { name: 'answer' });
    instance.add('c');
    expect(published).toEqual([]);
    vi.advanceTimersByTime(49);
    expect(published).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(published).toEqual([['abc', false, 'answer']]);
    instance.add('d');
    vi.advanceTimersByTime(50);
    expect(published).toEqual([
      ['abc', false, 'answer'],
      ['d', false, 'answer'],
    ]);
  });

  it('publishes at once when the buffer reaches its size limit', () => {
    vi.useFakeTimers();
    const { instance, published } = coalescer({ flushIntervalMs: 1_000, maxBufferedChars: 4 });
    instance.add('ab');
    instance.add('cd');
    instance.add('e');
    expect(published).toEqual([['abcd', false, undefined]]);
    expect(instance.pendingChars).toBe(1);
  });

  it('a last piece goes out at once with everything before it, marked last; flush clears the timer', () => {
    vi.useFakeTimers();
    const { instance, published } = coalescer({ flushIntervalMs: 50 });
    instance.add('x');
    instance.add('y', { last: true });
    expect(published).toEqual([['xy', true, undefined]]);
    vi.advanceTimersByTime(100);
    expect(published).toHaveLength(1);
  });

  it('never publishes an empty piece, even for last', () => {
    const { instance, published } = coalescer();
    instance.flush(true);
    instance.add('');
    instance.add('', { last: true });
    expect(published).toEqual([]);
  });

  it('with an interval of 0 every piece is published as it comes', () => {
    const { instance, published } = coalescer({ flushIntervalMs: 0 });
    instance.add('a');
    instance.add('b');
    instance.add('c', { last: true });
    expect(published).toEqual([
      ['a', false, undefined],
      ['b', false, undefined],
      ['c', true, undefined],
    ]);
  });

  it('dispose drops the pending timer and text', () => {
    vi.useFakeTimers();
    const { instance, published } = coalescer({ flushIntervalMs: 50 });
    instance.add('gone');
    instance.dispose();
    vi.advanceTimersByTime(100);
    expect(published).toEqual([]);
    expect(instance.pendingChars).toBe(0);
  });
});
