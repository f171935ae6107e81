import { describe, expect, it } from 'vitest';

import { fillTemplate, parseRequest, splitIntoChunks } from './mock-agent.js';

describe('mock agent helpers', () => {
  it('fills the placeholders it knows and leaves the rest', () => {
    expect(fillTemplate('{{agent}} #{{ call }}: {{input}} {{other}}', { agent: 'rag', call: 3, input: 'why?' })).toBe('rag #3: why? {{other}}');
  });

  it('fills placeholders read from the request', () => {
    const parse = { pattern: String.raw`(?<verb>restart|deploy) (?:the )?(?<service>\w+)(?: in (?<environment>\w+))?`, defaults: { environment: 'production', owner: 'ops' } };
    expect(parseRequest(parse, 'Please Restart the Payments in Staging')).toEqual({ verb: 'restart', service: 'payments', environment: 'staging', owner: 'ops' });
    expect(parseRequest(parse, 'deploy checkout')).toEqual({ verb: 'deploy', service: 'checkout', environment: 'production', owner: 'ops' });
    expect(parseRequest(parse, 'nothing to see')).toEqual({ environment: 'production', owner: 'ops' });
    expect(parseRequest(undefined, 'anything')).toEqual({});
  });

  it.each([
    ['one two three four five', 2],
    ['one two three', 5],
    ['single', 3],
    ['', 2],
  ])('splits %j into at most %i word-aligned chunks that join back', (text, count) => {
    const chunks = splitIntoChunks(text, count);
    expect(chunks.join('')).toBe(text);
    expect(chunks.length).toBeLessThanOrEqual(count);
    expect(chunks.length).toBeGreaterThan(0);
  });
});
