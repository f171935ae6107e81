import { describe, expect, it } from 'vitest';

import { collectingLogger } from '../../../../test/support/logs.js';
import { describeReplicaRegistryConformance } from './replica-registry.conformance.js';
import { InMemoryReplicaRegistry, type ReplicaRegistry, announceReplica, watchReplicas } from './replica-registry.js';

describeReplicaRegistryConformance('InMemoryReplicaRegistry', async () => {
  // One store shared by the test's handles, like one Redis.
  let shared: InMemoryReplicaRegistry | undefined;
  let now: () => number = Date.now;
  return {
    open: async (clock) => {
      now = clock;
      shared ??= new InMemoryReplicaRegistry({ now: () => now() });
      return shared;
    },
    cleanup: async () => undefined,
  };
});

/** A registry whose reads fail while `down` is set. */
function flaky(inner: ReplicaRegistry): ReplicaRegistry & { down: boolean } {
  return {
    down: false,
    announce: (service, url, ttl) => inner.announce(service, url, ttl),
    withdraw: (service, url) => inner.withdraw(service, url),
    live(service) {
      return this.down ? Promise.reject(new Error('registry down')) : inner.live(service);
    },
  };
}

describe('announceReplica and watchReplicas', () => {
  it('a watcher sees an announced replica, keeps its last list while the registry fails, and falls back when none is announced', async () => {
    const { logger, lines } = collectingLogger('replicas-test');
    const registry = flaky(new InMemoryReplicaRegistry());
    const watch = watchReplicas(registry, 'orchestrator', { fallback: ['http://configured:8001'], refreshMs: 60_000, logger });
    await watch.refresh();
    expect(watch.urls()).toEqual(['http://configured:8001']);

    const announced = await announceReplica(registry, 'orchestrator', 'http://a:8001', { ttlMs: 30_000, logger });
    await watch.refresh();
    expect(watch.urls()).toEqual(['http://a:8001']);

    registry.down = true;
    await watch.refresh();
    expect(watch.urls()).toEqual(['http://a:8001']);
    expect(lines.filter((line) => line['msg'] === 'could not read the replica registry; keeping the last list')).toHaveLength(1);

    registry.down = false;
    await announced.stop();
    await watch.refresh();
    expect(watch.urls()).toEqual(['http://configured:8001']);
    watch.stop();
  });
});
