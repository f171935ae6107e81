import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { afterEach, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../../../test/support/processes.js';
import { ServiceGroup } from './supervisor.js';

/**
 * Supervision with real processes (fixture services that exit 0 on SIGINT/SIGTERM, as ours do): Ctrl-C
 * stops everything without a single "exited unexpectedly" or restart, and a service that really
 * crashes, or exits without being asked to, is still restarted.
 */
const FIXTURE = 'tools/launcher/src/testing/fixture-service.ts';
const spawned: ChildProcess[] = [];
const groups: ServiceGroup[] = [];

afterEach(async () => {
  await Promise.all(groups.splice(0).map((group) => group.stopAll(2_000)));
  for (const child of spawned.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A group in this process whose notices are recorded, with a way to await one. */
function recordingGroup() {
  const notices: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: () => void }>();
  const group = new ServiceGroup(
    REPO_ROOT,
    {
      line: () => undefined,
      notice: (service, message) => {
        notices.push(`${service}: ${message}`);
        for (const waiter of waiters) {
          if (waiter.pattern.test(message)) {
            waiters.delete(waiter);
            waiter.resolve();
          }
        }
      },
    },
    60_000,
  );
  groups.push(group);
  const noticed = (pattern: RegExp) =>
    notices.some((notice) => pattern.test(notice)) ? Promise.resolve() : new Promise<void>((resolve) => waiters.add({ pattern, resolve }));
  return { group, notices, noticed };
}

describe('launcher supervision', () => {
  it('on Ctrl-C (SIGINT to the whole process group) stops every service without reporting a crash or restarting', async () => {
    // The launcher's wiring around fixture services, in a process group of its own, as a terminal runs `make up`.
    const driver = spawn(process.execPath, ['--import', 'tsx', 'tools/launcher/src/testing/group-driver.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, FIXTURE_SERVICES: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    spawned.push(driver);
    const exited = once(driver, 'exit');
    const output: string[] = [];
    const ready = new Promise<number[]>((resolve, reject) => {
      const onLine = (line: string) => {
        output.push(line);
        const match = /^ready (\[.*\])$/.exec(line);
        if (match?.[1] !== undefined) resolve(JSON.parse(match[1]) as number[]);
      };
      createInterface({ input: driver.stdout }).on('line', onLine);
      createInterface({ input: driver.stderr }).on('line', onLine);
      void exited.then(() => reject(new Error(`driver exited before it was ready:\n${output.join('\n')}`)));
    });
    const pids = await ready;
    expect(pids).toHaveLength(3);

    // What Ctrl-C in a terminal does: SIGINT to every process of the foreground group at once.
    process.kill(-driver.pid!, 'SIGINT');
    await exited;

    expect(driver.exitCode, output.join('\n')).toBe(0);
    expect(output).toContain('all stopped');
    expect(output.filter((line) => /unexpectedly|restart/i.test(line))).toEqual([]);
    await expect.poll(() => pids.filter(alive), { timeout: 5_000, interval: 50 }).toEqual([]);
  }, 120_000);

  it('restarts a service that crashes', async () => {
    const { group, notices, noticed } = recordingGroup();
    const service = group.add({ name: 'crashy', entry: FIXTURE, portVariable: 'FIXTURE_PORT', healthPath: null, env: {} });
    const url = await service.start();
    const firstPid = service.pid!;

    process.kill(firstPid, 'SIGKILL');
    await noticed(/^restarted at /);
    expect(notices[0]).toMatch(/^crashy: exited unexpectedly \(SIGKILL\); restarting in 500 ms/);
    expect(service.pid).not.toBe(firstPid);
    expect(service.url).toBe(url);
  }, 120_000);

  it('restarts a service that exits cleanly when nobody asked it to stop, saying so when the restart is due', async () => {
    const { group, notices, noticed } = recordingGroup();
    const service = group.add({ name: 'quitter', entry: FIXTURE, portVariable: 'FIXTURE_PORT', healthPath: null, env: {} });
    await service.start();
    const firstPid = service.pid!;

    // SIGTERM to this one service only (the launcher is not stopping): it exits with code 0.
    process.kill(firstPid, 'SIGTERM');
    await noticed(/^restarted at /);
    expect(notices[0]).toMatch(/^quitter: exited \(code 0\) without being asked to stop; restarting/);
    expect(notices.some((notice) => notice.includes('unexpectedly'))).toBe(false);
    expect(service.pid).not.toBe(firstPid);
  }, 120_000);
});
