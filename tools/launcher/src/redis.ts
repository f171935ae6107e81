import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

import { Redis } from 'ioredis';

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface LocalRedis {
  stop(): Promise<void>;
}

/**
 * Makes sure Redis answers at `url`. When it does not and the URL points at this machine, starts a local
 * `redis-server` on that port with its files under `dataDir`; otherwise explains how to get one.
 */
export async function ensureRedis(url: string, dataDir: string, notice: (message: string) => void): Promise<LocalRedis | undefined> {
  if (await redisAnswers(url)) return undefined;
  const parsed = new URL(url);
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(parsed.hostname);
  const installed = spawnSync('redis-server', ['--version']).status === 0;
  if (!local || !installed) {
    throw new Error(
      `No Redis answers at ${url}.\n` +
        (local
          ? 'Install Redis 7 (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) and run make up again, or set REDIS_URL to a running Redis.'
          : 'Start that Redis, or point REDIS_URL at one that runs.'),
    );
  }
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = parsed.port === '' ? '6379' : parsed.port;
  notice(`no Redis at ${url}; starting a local redis-server on port ${port} (data in ${dir})`);
  const child: ChildProcess = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes'], { stdio: 'ignore' });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await redisAnswers(url)) break;
    if (child.exitCode !== null) throw new Error(`redis-server exited (code ${child.exitCode}); is port ${port} taken?`);
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
