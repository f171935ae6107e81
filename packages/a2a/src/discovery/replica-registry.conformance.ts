// Conformance suites are test code run by each implementation's test file; vitest is the repo's test runner.
// eslint-disable-next-line import-x/no-extraneous-dependencies
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { ReplicaRegistry } from './replica-registry.js';

export interface ReplicaRegistryHarness {
  /** A registry on the clock `now` (ms), empty for this test. */
  open(now: () => number): Promise<ReplicaRegistry>;
  cleanup(): Promise<void>;
}

/** The `ReplicaRegistry` contract, run on every implementation (memory in a unit test, Redis in an integration test). */
export function describeReplicaRegistryConformance(name: string, setup: () => Promise<ReplicaRegistryHarness>): void {
  describe(`ReplicaRegistry conformance: ${name}`, () => {
    let harness: ReplicaRegistryHarness;
    let registry: ReplicaRegistry;
    let clock: number;

    beforeEach(async () => {
      clock = Date.UTC(2026, 0, 1);
      harness = await setup();
      registry = await harness.open(() => clock);
    });
    afterEach(() => harness.cleanup());

    it('lists announced URLs once each, sorted, until their lifetime ends', async () => {
      expect(await registry.live('orchestrator')).toEqual([]);
      await registry.announce('orchestrator', 'http://b:8001', 3_000);
      await registry.announce('orchestrator', 'http://a:8001', 1_000);
      await registry.announce('orchestrator', 'http://a:8001', 1_000);
      expect(await registry.live('orchestrator')).toEqual(['http://a:8001', 'http://b:8001']);
      clock += 1_000;
      expect(await registry.live('orchestrator')).toEqual(['http://b:8001']);
    });

    it('a renewal extends the lifetime; a withdrawal ends it at once', async () => {
      await registry.announce('orchestrator', 'http://a:8001', 1_000);
      await registry.announce('orchestrator', 'http://b:8001', 1_000);
      clock += 900;
      await registry.announce('orchestrator', 'http://a:8001', 1_000);
      clock += 200;
      expect(await registry.live('orchestrator')).toEqual(['http://a:8001']);
      await registry.withdraw('orchestrator', 'http://a:8001');
      expect(await registry.live('orchestrator')).toEqual([]);
    });

    it('keeps services apart', async () => {
      await registry.announce('orchestrator', 'http://a:8001', 1_000);
      await registry.announce('gateway', 'http://g:8000', 1_000);
      expect(await registry.live('orchestrator')).toEqual(['http://a:8001']);
      expect(await registry.live('gateway')).toEqual(['http://g:8000']);
    });

    it('every handle on the same store sees the same replicas', async () => {
      const other = await harness.open(() => clock);
      await registry.announce('orchestrator', 'http://a:8001', 1_000);
      expect(await other.live('orchestrator')).toEqual(['http://a:8001']);
    });
  });
}
