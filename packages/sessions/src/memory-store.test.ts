import { describe, expect, it } from 'vitest';

import { InMemorySessionStore } from './memory-store.js';
import { describeSessionStoreConformance, sampleRequest } from './testing/conformance.js';

/** A clock the tests move by hand: TTLs and lease expiry without waiting. */
function manualTime(): { now: () => number; advance(ms: number): void } {
  let now = Date.UTC(2025, 0, 1);
  return { now: () => now, advance: (ms) => void (now += ms) };
}

describeSessionStoreConformance('InMemorySessionStore', async () => {
  const time = manualTime();
  const ttlMs = 7 * 24 * 3600_000;
  const store = new InMemorySessionStore({ now: time.now, ttlMs });
  return {
    store,
    // One clock serves every session, so this expires all sessions alive now; the suite only relies
    // on the named one being gone (it creates the sessions it expects to survive afterwards).
    expireSession: async () => time.advance(ttlMs),
    expireLease: async () => time.advance(10 * 60_000),
    advance: async (ms) => time.advance(ms),
    cleanup: async () => store.close(),
  };
});

describe('InMemorySessionStore TTL', () => {
  it('expires a session once its TTL passes without writes, and every write extends it', async () => {
    const time = manualTime();
    const store = new InMemorySessionStore({ now: time.now, ttlMs: 1_000 });
    const session = await store.create({ owner: 'alice', request: sampleRequest });
    time.advance(900);
    await store.update(session.id, 'alice', { currentNodes: ['a'] });
    time.advance(900);
    expect((await store.get(session.id, 'alice')).currentNodes).toEqual(['a']);
    time.advance(100);
    await expect(store.get(session.id, 'alice')).rejects.toMatchObject({ code: 'not_found' });
  });
});
