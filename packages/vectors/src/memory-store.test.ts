import { describe, expect, it } from 'vitest';

import { describeVectorStoreConformance } from './conformance.js';
import { InMemoryVectorStore, matchesFilter } from './memory-store.js';

describeVectorStoreConformance('in memory', { create: async (space) => new InMemoryVectorStore(space) });

describe('matchesFilter', () => {
  it('uses JSON equality per key and any-of for lists', () => {
    const metadata = { lang: 'en', page: 3, draft: false, tags: ['a'] };
    expect(matchesFilter(metadata, {})).toBe(true);
    expect(matchesFilter(metadata, { lang: 'en', page: 3, draft: false })).toBe(true);
    expect(matchesFilter(metadata, { page: [1, 3] })).toBe(true);
    expect(matchesFilter(metadata, { page: '3' })).toBe(false);
    expect(matchesFilter(metadata, { tags: 'a' })).toBe(false);
    expect(matchesFilter(metadata, { missing: false })).toBe(false);
  });
});
