import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { redisAnswers } from '../../tools/launcher/src/redis.js';

import { freePort } from './ports.js';

/**
 * Test infrastructure, set up once per run. Tests use the real Redis at REDIS_URL (default the machine's
 * 127.0.0.1:6379). When none answers and `redis-server` is installed, a private one is started on a free
 * port for the run and stopped afterwards, so `make test` works on a machine without a running Redis.
 */
let privateRedis: ChildProcess | undefined;
let privateRedisDir: string | undefined;

export async function setup(): Promise<void> {
  const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  if (await redisAnswers(url)) {
    process.env['REDIS_URL'] = url;
    return;
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(`No Redis answers at ${url} and redis-server is not installed (Debian: apt-get install redis-server).`);
  }
  const port = await freePort();
  privateRedisDir = mkdtempSync(join(tmpdir(), 'ensemble-test-redis-'));
  privateRedis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', privateRedisDir], { stdio: 'ignore' });
  const privateUrl = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100 && !(await redisAnswers(privateUrl)); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.env['REDIS_URL'] = privateUrl;
}

export async function teardown(): Promise<void> {
  if (privateRedis !== undefined && privateRedis.exitCode === null) {
    privateRedis.kill('SIGTERM');
    await once(privateRedis, 'exit');
  }
  if (privateRedisDir !== undefined) rmSync(privateRedisDir, { recursive: true, force: true });
}
