import { fileURLToPath } from 'node:url';

import { loadConfig } from '@ensemble/config';

import { LauncherConfig } from './config.js';
import { tryItBanner } from './banner.js';
import { createLinePrefixer } from './log-format.js';
import { type LocalRedis, ensureRedis } from './redis.js';
import { type LaunchContext, planServices } from './services.js';
import { ServiceGroup } from './supervisor.js';

/**
 * `make up`: brings the whole system up on embedded defaults, each service its own process, in
 * dependency order with health checks; prefixes every log line with its service; restarts a crashed
 * service; stops everything on Ctrl-C. Prints the URLs and a curl example once all are healthy.
 */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const out = (text: string) => process.stdout.write(`${text}\n`);

async function main(): Promise<void> {
  const config = loadConfig(LauncherConfig, process.env);
  const planned = planServices(config);
  const names = ['launcher', 'redis', ...planned.map((service) => service.name)];
  const prefix = createLinePrefixer(names, process.stdout.isTTY);
  const format = config.LAUNCHER_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const notice = (service: string, message: string) => out(prefix(service, message, 'json'));

  let localRedis: LocalRedis | undefined;
  const group = new ServiceGroup(repoRoot, { line: (name, line) => out(prefix(name, line, format)), notice }, config.LAUNCHER_START_TIMEOUT_MS);
  let shuttingDown = false;
  const shutdown = async (exitCode: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    notice('launcher', 'stopping all services');
    await group.stopAll();
    await localRedis?.stop();
    notice('launcher', 'all stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    localRedis = await ensureRedis(config.REDIS_URL, config.ENSEMBLE_DATA_DIR, (message) => notice('redis', message));
    notice('redis', `using ${config.REDIS_URL}`);
    const urls = new Map<string, string>();
    const waves = [...new Set(planned.map((service) => service.wave))].sort((a, b) => a - b);
    for (const wave of waves) {
      const context: LaunchContext = { config, urls };
      const inWave = planned.filter((service) => service.wave === wave).map((service) => ({ name: service.name, ...service.spec(context) }));
      await Promise.all(
        inWave.map(async (spec) => {
          urls.set(spec.name, await group.add(spec).start());
        }),
      );
    }
    out(tryItBanner(urls, config.API_TOKENS));
  } catch (error) {
    notice('launcher', `start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    await shutdown(1);
  }
}

await main();
