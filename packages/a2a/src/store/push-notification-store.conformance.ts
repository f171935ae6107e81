import type { TaskPushNotificationConfig } from '@a2a-js/sdk';
import { type PushNotificationStore, ServerCallContext } from '@a2a-js/sdk/server';
// Conformance suites are test code run by each implementation's test file; vitest is the repo's test runner.
// eslint-disable-next-line import-x/no-extraneous-dependencies
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { PrincipalUser } from '../principal-user.js';

/**
 * The behaviour every `PushNotificationStore` in Ensemble must have (the SDK's in-memory store is the
 * reference), run against each implementation: in memory in `*.test.ts`, Redis in `*.int.test.ts`.
 * `create` returns a fresh, empty store and a cleanup that removes what the test wrote.
 */
export function describePushNotificationStoreConformance(
  name: string,
  create: () => Promise<{ store: PushNotificationStore; cleanup(): Promise<void> }>,
): void {
  describe(`PushNotificationStore conformance: ${name}`, () => {
    let store: PushNotificationStore;
    let fixture: { cleanup(): Promise<void> } | undefined;

    beforeEach(async () => {
      const created = await create();
      store = created.store;
      fixture = created;
    });
    afterEach(async () => {
      await fixture?.cleanup();
    });

    it('loads nothing for a task without configs', async () => {
      expect(await store.load('no-such-task', callContext())).toEqual([]);
    });

    it('assigns an id in place to a config saved without one, and round-trips url, token and authentication', async () => {
      const config = sampleConfig('t-1', '');
      await store.save('t-1', callContext(), config);
      expect(config.id).not.toBe('');
      expect(await store.load('t-1', callContext())).toEqual([config]);
    });

    it('keeps several configs per task in registration order, and replaces one saved again under its id', async () => {
      await store.save('t-2', callContext(), sampleConfig('t-2', 'a'));
      await store.save('t-2', callContext(), sampleConfig('t-2', 'b'));
      await store.save('t-2', callContext(), { ...sampleConfig('t-2', 'a'), url: 'https://hooks.example.com/replaced' });
      const loaded = await store.load('t-2', callContext());
      expect(loaded.map((config) => [config.id, config.url])).toEqual([
        ['b', 'https://hooks.example.com/b'],
        ['a', 'https://hooks.example.com/replaced'],
      ]);
    });

    it('isolates stored copies from mutation by the caller', async () => {
      const config = sampleConfig('t-3', 'x');
      await store.save('t-3', callContext(), config);
      config.url = 'https://mutated.example.com/';
      const [loaded] = await store.load('t-3', callContext());
      expect(loaded?.url).toBe('https://hooks.example.com/x');
      loaded!.token = 'changed';
      expect((await store.load('t-3', callContext()))[0]?.token).toBe('token-x');
    });

    it('scopes configs by tenant and by authenticated owner', async () => {
      await store.save('t-4', callContext({ tenant: 'acme', user: 'alice' }), sampleConfig('t-4', 'alice'));
      expect(await store.load('t-4', callContext({ tenant: 'acme', user: 'alice' }))).toHaveLength(1);
      expect(await store.load('t-4', callContext({ tenant: 'acme', user: 'bob' }))).toEqual([]);
      expect(await store.load('t-4', callContext({ tenant: 'other', user: 'alice' }))).toEqual([]);
      expect(await store.load('t-4', callContext())).toEqual([]);
      await store.delete('t-4', callContext({ tenant: 'acme', user: 'bob' }), 'alice');
      expect(await store.load('t-4', callContext({ tenant: 'acme', user: 'alice' }))).toHaveLength(1);
    });

    it('records the A2A version each config was registered over (absent header: 0.3)', async () => {
      if (store.loadWithMetadata === undefined) throw new Error('the store must implement loadWithMetadata');
      await store.save('t-5', callContext({ version: '1.0' }), sampleConfig('t-5', 'v1'));
      await store.save('t-5', callContext(), sampleConfig('t-5', 'legacy'));
      const entries = await store.loadWithMetadata('t-5', callContext({ version: '1.0' }));
      expect(entries.map((entry) => [entry.config.id, entry.wireVersion])).toEqual([
        ['v1', '1.0'],
        ['legacy', '0.3'],
      ]);
    });

    it('deletes one config by id, leaves the others, and ignores unknown ids and tasks', async () => {
      await store.save('t-6', callContext(), sampleConfig('t-6', 'keep'));
      await store.save('t-6', callContext(), sampleConfig('t-6', 'drop'));
      await store.delete('t-6', callContext(), 'drop');
      await store.delete('t-6', callContext(), 'never-existed');
      await store.delete('no-such-task', callContext(), 'drop');
      expect((await store.load('t-6', callContext())).map((config) => config.id)).toEqual(['keep']);
      await store.delete('t-6', callContext(), 'keep');
      expect(await store.load('t-6', callContext())).toEqual([]);
    });
  });
}

function callContext(options: { tenant?: string; user?: string; version?: string } = {}): ServerCallContext {
  return new ServerCallContext({
    tenant: options.tenant,
    user: options.user === undefined ? undefined : new PrincipalUser(options.user),
    requestedVersion: options.version,
  });
}

function sampleConfig(taskId: string, id: string): TaskPushNotificationConfig {
  return {
    tenant: '',
    id,
    taskId,
    url: `https://hooks.example.com/${id || 'new'}`,
    token: `token-${id}`,
    authentication: { scheme: 'Bearer', credentials: `secret-${id}` },
  };
}
