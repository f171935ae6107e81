import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import { startService, stopAllServices } from '../../../test/support/processes.js';

describe('embedded-postgres service', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await stopAllServices();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('logs its URL, serves pgvector to several clients, and refuses a second server on the same data dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ensemble-epg-'));
    dirs.push(dir);
    const env = { EMBEDDED_PG_PORT: '0', EMBEDDED_PG_DATA_DIR: join(dir, 'pglite') };
    const service = await startService({ name: 'embedded-postgres', entry: 'apps/embedded-postgres/src/main.ts', env, timeoutMs: 60_000 });
    expect(service.url).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);

    const clients = Array.from({ length: 3 }, () => new pg.Client({ connectionString: service.url }));
    try {
      await Promise.all(clients.map((client) => client.connect()));
      const results = await Promise.all(clients.map((client) => client.query<{ d: number }>(`SELECT '[1,0]'::vector <=> '[0,1]'::vector AS d`)));
      expect(results.map((result) => result.rows[0]?.d)).toEqual([1, 1, 1]);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }

    const second = await startService({ name: 'embedded-postgres-2', entry: 'apps/embedded-postgres/src/main.ts', env, timeoutMs: 60_000 }).catch(
      (error: unknown) => error,
    );
    expect(String(second)).toContain('is in use by process');
    expect(String(second)).toContain(service.url);
    await service.stop();
  });
});
