import { InMemoryPushNotificationStore } from '@a2a-js/sdk/server';

import { describePushNotificationStoreConformance } from './push-notification-store.conformance.js';

// The SDK's own in-memory store is the reference the Redis store is held to.
describePushNotificationStoreConformance('InMemoryPushNotificationStore (SDK)', async () => ({
  store: new InMemoryPushNotificationStore(),
  cleanup: async () => {},
}));
