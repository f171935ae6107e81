import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Repository root, for resolving app entry points from any test file. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every stdout/stderr line so far (JSON log lines as text), for assertions and failure reports. */
  readonly lines: string[];
  /** Resolves with the first log line for which `predicate` is true (already seen lines count). */
  waitForLine(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now: a crash, as far as the service can tell. */
  kill(): Promise<void>;
}

const running = new Set<ServiceProcess>();
/** Children spawned but not listening yet: `stopAllServices` kills them too (a sibling's start failed). */
const starting = new Set<ChildProcess>();

export interface StartServiceOptions {
  name: string;
  /** Entry file relative to the repo root, e.g. `apps/sim-llm/src/main.ts`, run through tsx. */
  entry?: string;
  /** Instead of `entry`: the command line to run as is (a compiled service, no tsx), and its directory. */
  command?: { argv: [string, ...string[]]; cwd: string };
  env?: Record<string, string | undefined>;
  args?: string[];
  timeoutMs?: number;
}

/**
 * Node.js flags for a process the benchmarks start: with BENCH_PROFILE_DIR=dir, it writes a V8 CPU
 * profile to dir/<name>/ when it exits (spaces in `name` become dashes); otherwise none.
 */
export function profilingArgs(name: string): string[] {
  const profileDir = process.env['BENCH_PROFILE_DIR'];
  return profileDir === undefined || profileDir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', `${profileDir}/${name.replaceAll(' ', '-')}`];
}

/**
 * Starts a service as a real child process (through tsx) with port 0 and waits for its `listening` log
 * line, which carries the URL it bound. Nothing here sleeps: readiness is the service saying so.
 */
export async function startService(options: StartServiceOptions): Promise<ServiceProcess> {
  const [file, ...argv] = options.command?.argv ?? [process.execPath, ...profilingArgs(options.name), '--import', 'tsx', options.entry ?? '', ...(options.args ?? [])];
  const child = spawn(file, argv, {
    cwd: options.command?.cwd ?? REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  starting.add(child);
  const lines: string[] = [];
  const waiters = new Set<{ predicate: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }>();
  const exited = once(child, 'exit');
  const onLine = (text: string) => {
    lines.push(text);
    // Parsed only for a waiter: a benchmark's agents log lines while it measures this process's CPU.
    if (waiters.size === 0) return;
    const parsed = parseJsonLine(text);
    if (parsed === undefined) return;
    for (const waiter of waiters) {
      if (waiter.predicate(parsed)) {
        waiters.delete(waiter);
        waiter.resolve(parsed);
      }
    }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);

  const waitForLine: ServiceProcess['waitForLine'] = (predicate, timeoutMs = 30_000) => {
    for (const text of lines) {
      const parsed = parseJsonLine(text);
      if (parsed !== undefined && predicate(parsed)) return Promise.resolve(parsed);
    }
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve: (line: Record<string, unknown>) => { clearTimeout(timer); resolve(line); } };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`${options.name}: timed out waiting for a log line\n${lines.slice(-30).join('\n')}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then(() => {
        if (waiters.delete(waiter)) {
          clearTimeout(timer);
          reject(new Error(`${options.name} exited (code ${child.exitCode})\n${lines.slice(-30).join('\n')}`));
        }
      });
    });
  };

  const listening = await waitForLine((line) => line['msg'] === 'listening' && typeof line['url'] === 'string', options.timeoutMs ?? 30_000)
    .catch(async (error: unknown) => {
      child.kill('SIGKILL');
      await exited;
      throw error;
    })
    .finally(() => starting.delete(child));
  // Killed while it was starting (`stopAllServices` after a sibling's start failed): not started.
  if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${options.name} was stopped while it started`);

  const stopWith = async (signal: NodeJS.Signals, graceMs: number) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    running.delete(service);
  };
  const service: ServiceProcess = {
    name: options.name,
    url: listening['url'] as string,
    pid: child.pid!,
    child,
    lines,
    waitForLine,
    stop: (graceMs = 5_000) => stopWith('SIGTERM', graceMs),
    kill: () => stopWith('SIGKILL', 0),
  };
  running.add(service);
  return service;
}

/** Stops every process started through `startService` that is still running (for `afterAll`). */
export async function stopAllServices(): Promise<void> {
  // A child still starting is one whose start will not be awaited any more (the `beforeAll` that
  // started it already failed): nothing else would ever stop it.
  for (const child of starting) child.kill('SIGKILL');
  await Promise.all([...running].map((service) => service.stop()));
}

/**
 * CPU time (user + system, ms) process `pid` has used so far, from `/proc` (Linux; NaN elsewhere or once
 * the process is gone). Benchmarks take differences of it around what they measure.
 */
export function cpuTimeMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime + stime, in clock ticks of 10 ms (USER_HZ 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** One log line as JSON, or `undefined` for anything else (a Node warning on stderr). */
export function parseJsonLine(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
