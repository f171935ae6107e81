import { readFileSync } from 'node:fs';

import pg from 'pg';

import { type ImageService, IMAGE_SERVICES, imageService } from './services.js';

/**
 * The image's `HEALTHCHECK`: `node dist/healthcheck.js [service]`. Without an argument it checks the
 * service the container runs, read from PID 1's command line (`tini -- entrypoint.sh <service>`), so one
 * `HEALTHCHECK` line serves every service. Its port comes from the same variable the service reads.
 * Exit 0 when healthy, 1 otherwise (Docker's contract), with one line saying why.
 */

const TIMEOUT_MS = 3_000;

function serviceFromPid1(): ImageService | undefined {
  let argv: string[];
  try {
    argv = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
  } catch {
    return undefined;
  }
  for (const arg of argv) {
    const service = imageService(arg);
    if (service !== undefined) return service;
  }
  return undefined;
}

function portOf(service: ImageService): number {
  const raw = service.portVariable === undefined ? undefined : process.env[service.portVariable];
  return raw === undefined || raw === '' ? (service.defaultPort ?? 0) : Number(raw);
}

async function check(service: ImageService): Promise<string> {
  const port = portOf(service);
  if (service.probe === 'none') return `${service.name} runs as a command; nothing to check`;
  if (service.probe === 'postgres') {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: TIMEOUT_MS });
    try {
      await client.connect();
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => undefined);
    }
    return `${service.name} answers SQL on port ${port}`;
  }
  const url = `http://127.0.0.1:${port}${service.healthPath ?? '/health'}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return `${url} answered ${response.status}`;
}

const name = process.argv[2];
const service = name === undefined ? serviceFromPid1() : imageService(name);
if (service === undefined) {
  process.stderr.write(`unhealthy: unknown service ${name ?? '(none found in /proc/1/cmdline)'}; one of ${IMAGE_SERVICES.map((s) => s.name).join(', ')}\n`);
  process.exit(1);
}
try {
  process.stdout.write(`healthy: ${await check(service)}\n`);
} catch (error) {
  process.stderr.write(`unhealthy: ${service.name}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
