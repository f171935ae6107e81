import { describe, expect, it } from 'vitest';

import { SseDecoder, type SseEvent } from './sse-decoder.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `parts` one by one, then ends the stream; returns every event in order. */
function decodeAll(parts: readonly (string | Uint8Array)[]): SseEvent[] {
  const decoder = new SseDecoder();
  const events = parts.flatMap((part) => decoder.push(typeof part === 'string' ? bytes(part) : part));
  return [...events, ...decoder.end()];
}

describe('SseDecoder', () => {
  it('returns the raw data of each event as soon as its blank line arrives', () => {
    const decoder = new SseDecoder();
    expect(decoder.push(bytes('data: {"a":1}\n\ndata: {"b"'))).toEqual([{ event: null, data: '{"a":1}', id: null }]);
    expect(decoder.push(bytes(':2}\n'))).toEqual([]);
    expect(decoder.push(bytes('\n'))).toEqual([{ event: null, data: '{"b":2}', id: null }]);
    expect(decoder.end()).toEqual([]);
  });

  it('accepts LF, CRLF and CR line endings, also when CR and LF arrive in different chunks', () => {
    expect(decodeAll(['data: a\r\n\r\ndata: b\r\rdata: c\r', '\n\r', '\ndata: d\n\n'])).toEqual([
      { event: null, data: 'a', id: null },
      { event: null, data: 'b', id: null },
      { event: null, data: 'c', id: null },
      { event: null, data: 'd', id: null },
    ]);
  });

  it('finds the same events wherever the stream is cut, with every kind of line ending mixed', () => {
    const stream = 'data: a\r\n\r\nevent: x\rdata: b\r\rdata: c\n\n: note\r\ndata: d\ndata: e\r\ndata: f\rdata: g\r\n\n';
    const expected = [
      { event: null, data: 'a', id: null },
      { event: 'x', data: 'b', id: null },
      { event: null, data: 'c', id: null },
      { event: null, data: 'd\ne\nf\ng', id: null },
    ];
    expect(decodeAll([stream])).toEqual(expected);
    for (let first = 0; first <= stream.length; first += 1) {
      for (let second = first; second <= stream.length; second += 1) {
        expect(decodeAll([stream.slice(0, first), stream.slice(first, second), stream.slice(second)])).toEqual(expected);
      }
    }
  });

  it('joins multi-line data, keeps event names, skips comments and drops only one leading space', () => {
    expect(decodeAll([': keep-alive\n\nevent: error\ndata:  two spaces\ndata:x\nid: 7\nretry: 10\n\n'])).toEqual([{ event: 'error', data: ' two spaces\nx', id: '7' }]);
  });

  it('reports each event’s own id, not carried over to an event without one', () => {
    expect(decodeAll(['id: 41\ndata: a\n\ndata: [DONE]\n\nid: 43\nevent: turn\ndata: b\n\n'])).toEqual([
      { event: null, data: 'a', id: '41' },
      { event: null, data: '[DONE]', id: null },
      { event: 'turn', data: 'b', id: '43' },
    ]);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const encoded = bytes('data: é€\n\n');
    expect(decodeAll([encoded.slice(0, 7), encoded.slice(7, 9), encoded.slice(9)])).toEqual([{ event: null, data: 'é€', id: null }]);
  });

  it('returns an event the stream ended in without its blank line, and nothing for an empty tail', () => {
    expect(decodeAll(['data: one\n\ndata: last'])).toEqual([
      { event: null, data: 'one', id: null },
      { event: null, data: 'last', id: null },
    ]);
    expect(decodeAll(['data: one\n\n', ': comment only'])).toEqual([{ event: null, data: 'one', id: null }]);
  });
});
