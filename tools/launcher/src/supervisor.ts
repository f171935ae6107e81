import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ServiceSpec {
  name: string;
  /** Entry file relative to the repository root; run through tsx. */
  entry: string;
  args?: readonly string[];
  /** The variable the service reads its port from; pinned to the first bound port on restarts. */
  portVariable: string;
  /** Path answering 200 once the service is ready; `null` when the `listening` line is enough. */
  healthPath: string | null;
  env: Record<string, string>;
}

export interface SupervisorEvents {
  line(service: string, line: string): void;
  notice(service: string, message: string): void;
}

const RESTART_BACKOFF_MS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];
const HEALTHY_RESET_MS = 60_000;

/**
 * The services of one launch, stopped together. `stopAll()` marks the whole group as stopping before it
 * stops anyone: on Ctrl-C a terminal sends SIGINT to every process of the group, so services exit on
 * their own while the launcher is still stopping the others, and none of those exits is a crash.
 */
export class ServiceGroup {
  readonly services: ManagedService[] = [];
  #stopping = false;

  constructor(
    private readonly repoRoot: string,
    private readonly events: SupervisorEvents,
    private readonly startTimeoutMs: number,
  ) {}

  get stopping(): boolean {
    return this.#stopping;
  }

  add(spec: ServiceSpec): ManagedService {
    const service = new ManagedService(spec, this.repoRoot, this.events, this.startTimeoutMs, () => this.#stopping);
    this.services.push(service);
    return service;
  }

  /** Stops every service, the last started first (dependents before what they depend on). */
  async stopAll(graceMs?: number): Promise<void> {
    this.#stopping = true;
    for (const service of [...this.services].reverse()) await service.stop(graceMs);
  }
}

/** Signals that mean "stop", not "crashed": Ctrl-C (the terminal's SIGINT) and a polite SIGTERM. */
const STOP_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGINT', 'SIGTERM']);

/**
 * One service process under supervision: started through tsx, ready once it logs `listening` (carrying its
 * URL) and answers its health path, restarted with backoff when it exits unexpectedly, stopped with
 * SIGTERM then SIGKILL. After the first start its port is pinned, so a restarted service keeps the URL
 * every other service was given.
 */
export class ManagedService {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private lastStart = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  url: string | undefined;

  /** The current process's pid, while one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  constructor(
    readonly spec: ServiceSpec,
    private readonly repoRoot: string,
    private readonly events: SupervisorEvents,
    private readonly startTimeoutMs: number,
    /** True once the launch as a whole is stopping (see `ServiceGroup`). */
    private readonly groupStopping: () => boolean = () => false,
  ) {}

  async start(): Promise<string> {
    const env: Record<string, string | undefined> = { ...process.env, ...this.spec.env };
    if (this.url !== undefined) env[this.spec.portVariable] = new URL(this.url).port;
    const child = spawn(process.execPath, ['--import', 'tsx', this.spec.entry, ...(this.spec.args ?? [])], {
      cwd: this.repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.lastStart = Date.now();
    const listening = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.spec.name} did not report listening within ${this.startTimeoutMs} ms`)), this.startTimeoutMs);
      const onLine = (line: string) => {
        this.events.line(this.spec.name, line);
        const url = listeningUrl(line);
        if (url !== undefined) {
          clearTimeout(timer);
          resolve(url);
        }
      };
      createInterface({ input: child.stdout }).on('line', onLine);
      createInterface({ input: child.stderr }).on('line', onLine);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.spec.name} exited during start-up (${signal ?? `code ${code}`})`));
      });
    });
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    const url = await listening;
    if (this.spec.healthPath !== null) await this.waitHealthy(url);
    this.url = url;
    return url;
  }

  private async waitHealthy(url: string): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    let lastError = 'no answer';
    while (Date.now() < deadline) {
      try {
        const response = await fetch(new URL(this.spec.healthPath ?? '/health', url), { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
        lastError = `status ${response.status}`;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      // A readiness probe between attempts: the service already said it is listening.
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${this.spec.name} is not healthy at ${url}${this.spec.healthPath ?? ''}: ${lastError}`);
  }

  private get stopRequested(): boolean {
    return this.stopping || this.groupStopping();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopRequested || child !== this.child || this.url === undefined) return;
    // Killed by SIGINT: Ctrl-C reached the whole process group, the launcher's own handler just has not
    // run yet. It is a stop on its way, not a crash.
    if (signal === 'SIGINT') return;
    if (Date.now() - this.lastStart > HEALTHY_RESET_MS) this.restarts = 0;
    const delay = RESTART_BACKOFF_MS[Math.min(this.restarts, RESTART_BACKOFF_MS.length - 1)] ?? 30_000;
    this.restarts += 1;
    const how = signal ?? `code ${code}`;
    // A clean exit (code 0, SIGTERM) is what a service does when told to stop. When the launcher's own
    // stop is on its way it lands within the backoff, so the exit is judged when the restart is due.
    const clean = code === 0 || (signal !== null && STOP_SIGNALS.has(signal));
    if (!clean) this.events.notice(this.spec.name, `exited unexpectedly (${how}); restarting in ${delay} ms (restart #${this.restarts})`);
    this.restartTimer = setTimeout(() => {
      if (this.stopRequested) return;
      if (clean) this.events.notice(this.spec.name, `exited (${how}) without being asked to stop; restarting (restart #${this.restarts})`);
      this.start().then(
        (url) => this.events.notice(this.spec.name, `restarted at ${url}`),
        (error: unknown) => this.events.notice(this.spec.name, `restart failed: ${error instanceof Error ? error.message : String(error)}`),
      );
    }, delay);
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

function listeningUrl(line: string): string | undefined {
  if (!line.startsWith('{') || !line.includes('"listening"')) return undefined;
  try {
    const record = JSON.parse(line) as { msg?: unknown; url?: unknown };
    return record.msg === 'listening' && typeof record.url === 'string' ? record.url : undefined;
  } catch {
    return undefined;
  }
}
