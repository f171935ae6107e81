import { fileURLToPath } from 'node:url';

import { ServiceGroup } from '../supervisor.js';

/**
 * The launcher's supervision as `make up` wires it (see main.ts), around fixture services instead of the
 * real ones: starts FIXTURE_SERVICES of them, prints `ready` with their pids, and on SIGINT or SIGTERM
 * stops the group and exits 0. Every notice is printed as `notice <service>: <message>`.
 */
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const out = (text: string) => process.stdout.write(`${text}\n`);
const count = Number(process.env['FIXTURE_SERVICES'] ?? '3');

const group = new ServiceGroup(repoRoot, { line: () => undefined, notice: (service, message) => out(`notice ${service}: ${message}`) }, 30_000);
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  out('stopping all services');
  await group.stopAll();
  out('all stopped');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

for (let index = 0; index < count; index += 1) {
  await group.add({ name: `fixture-${index}`, entry: 'tools/launcher/src/testing/fixture-service.ts', portVariable: 'FIXTURE_PORT', healthPath: null, env: {} }).start();
}
out(`ready ${JSON.stringify(group.services.map((service) => service.pid))}`);
