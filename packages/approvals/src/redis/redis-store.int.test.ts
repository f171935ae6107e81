import { Redis } from 'ioredis';

import { testRedis } from '../../../../test/support/redis.js';
import { describeApprovalStoreConformance } from '../testing/conformance.js';
import { RedisApprovalStore } from './redis-store.js';

describeApprovalStoreConformance('RedisApprovalStore', async () => {
  const env = testRedis();
  const clients: Redis[] = [];
  let first = true;
  return {
    // The first handle uses the env's client; later ones their own connection, as another replica would.
    open: async (now) => {
      if (first) {
        first = false;
        return new RedisApprovalStore(env.redis, { keyPrefix: env.prefix, now });
      }
      const client = new Redis(env.url);
      clients.push(client);
      return new RedisApprovalStore(client, { keyPrefix: env.prefix, now });
    },
    cleanup: async () => {
      for (const client of clients) client.disconnect();
      await env.cleanup();
    },
  };
});
