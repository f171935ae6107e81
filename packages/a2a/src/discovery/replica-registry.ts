import type { Logger } from '@ensemble/telemetry';

/**
 * The live replicas of a service, by URL: how gateways find the orchestrators. Each replica announces
 * itself for a lifetime and renews it while it runs (`announceReplica`); one that stops renewing
 * (crashed, partitioned) drops out when its lifetime ends, and one that shuts down withdraws at once.
 *
 * Contract (every implementation runs `describeReplicaRegistryConformance`):
 * - `live` lists the URLs whose latest announcement has not expired, each once, sorted (a stable order,
 *   so callers that take them in turn spread evenly); an empty list when none is announced.
 * - A new announcement of the same URL replaces the previous one's lifetime (renewal).
 * - Services are separate namespaces.
 */
export interface ReplicaRegistry {
  announce(service: string, url: string, ttlMs: number): Promise<void>;
  withdraw(service: string, url: string): Promise<void>;
  live(service: string): Promise<string[]>;
}

/** Replicas in this process (tests, single-process runs). */
export class InMemoryReplicaRegistry implements ReplicaRegistry {
  readonly #expiries = new Map<string, Map<string, number>>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async announce(service: string, url: string, ttlMs: number): Promise<void> {
    const replicas = this.#expiries.get(service) ?? new Map<string, number>();
    replicas.set(url, this.#now() + ttlMs);
    this.#expiries.set(service, replicas);
  }

  async withdraw(service: string, url: string): Promise<void> {
    this.#expiries.get(service)?.delete(url);
  }

  async live(service: string): Promise<string[]> {
    const now = this.#now();
    return [...(this.#expiries.get(service) ?? new Map<string, number>())]
      .filter(([, expiresAt]) => expiresAt > now)
      .map(([url]) => url)
      .sort();
  }
}

export interface AnnounceOptions {
  /** How long an announcement lasts without renewal; renewed every third of it. */
  ttlMs: number;
  logger: Logger;
}

/**
 * Announces `url` as a live replica of `service` now and every `ttlMs / 3` (a failed renewal is logged
 * and tried again at the next tick); `stop` withdraws it, so callers stop choosing a replica that is
 * shutting down before its lifetime would have ended.
 */
export async function announceReplica(registry: ReplicaRegistry, service: string, url: string, options: AnnounceOptions): Promise<{ stop(): Promise<void> }> {
  const announce = () =>
    registry.announce(service, url, options.ttlMs).catch((error: unknown) => {
      options.logger.warn({ err: error, service, url }, 'replica announcement failed; trying again');
    });
  await announce();
  const timer = setInterval(() => void announce(), Math.max(1, Math.floor(options.ttlMs / 3)));
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await registry.withdraw(service, url).catch((error: unknown) => {
        options.logger.warn({ err: error, service, url }, 'replica withdrawal failed; it drops out when its announcement expires');
      });
    },
  };
}

export interface WatchReplicasOptions {
  /** Used while none is announced (the registry is empty or cannot be read yet). */
  fallback: readonly string[];
  /** How often the live list is read again. */
  refreshMs: number;
  logger: Logger;
}

/** The live replicas of a service as last read, refreshed in the background. */
export interface ReplicaWatch {
  /** The announced replicas, or the fallback when none is: never waits on the registry. */
  urls(): readonly string[];
  /** Reads the registry now (start-up, tests). */
  refresh(): Promise<void>;
  stop(): void;
}

/**
 * Watches `service`'s replicas for a caller that picks one per request (the gateway's orchestrator
 * client): reads are served from memory, so a slow or unreachable registry never delays a request; the
 * last list read stays in use while the registry cannot be read.
 */
export function watchReplicas(registry: ReplicaRegistry, service: string, options: WatchReplicasOptions): ReplicaWatch {
  let announced: readonly string[] = [];
  let failing = false;
  const refresh = async () => {
    try {
      const next = await registry.live(service);
      if (next.join(',') !== announced.join(',')) options.logger.info({ service, replicas: next }, 'replicas changed');
      announced = next;
      failing = false;
    } catch (error) {
      if (!failing) options.logger.warn({ err: error, service }, 'could not read the replica registry; keeping the last list');
      failing = true;
    }
  };
  const timer = setInterval(() => void refresh(), options.refreshMs);
  timer.unref();
  return {
    urls: () => (announced.length > 0 ? announced : options.fallback),
    refresh,
    stop: () => clearInterval(timer),
  };
}
