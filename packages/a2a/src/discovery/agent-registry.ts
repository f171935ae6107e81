import { AgentCard } from '@a2a-js/sdk';
import { DefaultAgentCardResolver } from '@a2a-js/sdk/client';
import { AgentCardSummary, type AgentSkillSummary, EnsembleError, ErrorCode } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';

import { type AgentCardCache, InMemoryAgentCardCache } from './card-cache.js';

/** `unknown` until the first check finishes. */
export type AgentStatus = 'unknown' | 'available' | 'unavailable';

/** What the registry knows about one configured agent. */
export interface AgentInfo {
  /** The card's name; `null` until a card has been fetched. */
  name: string | null;
  /** The configured base URL (where the card is served). */
  url: string;
  /** The agent's preferred A2A endpoint (first `supportedInterfaces` entry); `null` without a card. */
  endpoint: string | null;
  status: AgentStatus;
  /** ISO time of the last finished check; `null` before the first. */
  lastChecked: string | null;
  /** Why the agent is unavailable; `null` when it is available or not checked yet. */
  lastError: string | null;
  /** The last valid card (kept while the agent is down, so the catalog still names it). */
  card: AgentCard | null;
  /** The validated fields of `card` Ensemble relies on. */
  summary: AgentCardSummary | null;
}

/** One agent in the planner's catalog. */
export interface AgentSkillCatalogEntry {
  agent: string;
  url: string;
  endpoint: string;
  description: string;
  available: boolean;
  status: AgentStatus;
  streaming: boolean;
  skills: AgentSkillSummary[];
}

export interface SkillMatch {
  agent: AgentInfo;
  skill: AgentSkillSummary;
}

export interface AgentStatusChange {
  url: string;
  name: string | null;
  previous: AgentStatus;
  current: AgentStatus;
  error: string | null;
  at: string;
}

export type AgentStatusListener = (change: AgentStatusChange) => void;

export interface AgentRegistryOptions {
  /** Agent base URLs (the app parses `AGENT_URLS`); duplicates are ignored. */
  agentUrls: readonly string[];
  /** Where cards are cached; share a `RedisAgentCardCache` between services. Default: in-memory. */
  cache?: AgentCardCache;
  /** How long a fetched card stays cached. Default 5 minutes. */
  cardTtlMs?: number;
  /** Background check period (card when not cached, plus health). Default 30 s. */
  refreshIntervalMs?: number;
  /**
   * How often an agent marked unavailable is checked again, between full refreshes. Default 2 s: an
   * agent that restarts is back in seconds, and until it is checked again it is planned without.
   */
  recheckUnavailableMs?: number;
  /** Timeout of each card or health request. Default 3 s. */
  requestTimeoutMs?: number;
  /**
   * Health path on the agent's base URL. Default `/health`. A 404/405 there counts as healthy (the
   * agent answered; it just has no health route, as third-party A2A agents may not), so only
   * connection failures, timeouts and 5xx mark an agent down. `null` skips the health probe.
   */
  healthPath?: string | null;
  /** Agent Card path. Default the spec's `/.well-known/agent-card.json`. */
  cardPath?: string;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Called on every status transition (also available as `onStatusChange`). */
  onStatusChange?: AgentStatusListener;
  /** Injectable clock for tests. */
  now?: () => number;
}

interface AgentState {
  url: string;
  status: AgentStatus;
  lastChecked: string | null;
  lastError: string | null;
  card: AgentCard | null;
  summary: AgentCardSummary | null;
}

const DEFAULTS = { cardTtlMs: 5 * 60_000, refreshIntervalMs: 30_000, recheckUnavailableMs: 2_000, requestTimeoutMs: 3_000 };

/**
 * The agents Ensemble can call, discovered from their Agent Cards. Nothing about an agent (name, URL,
 * skills) is known anywhere else: planners read `skills()`, callers resolve `get(name)` or
 * `resolveSkill(id)`.
 *
 * Each check of an agent: take its card from the cache or fetch it (SDK resolver, v1.0 and v0.3 cards)
 * and validate it; probe its health; mark it available or unavailable (with the reason), and report
 * transitions to listeners and the log. `start()` checks once, then keeps checking in the background
 * on unref'd timers (every agent now and then, an unavailable one often, so a restarted agent is
 * planned with again within seconds), so the registry never keeps a process alive; `stop()` ends that.
 */
export class AgentRegistry {
  readonly #agents: AgentState[];
  readonly #cache: AgentCardCache;
  readonly #resolver: DefaultAgentCardResolver;
  readonly #fetch: typeof fetch;
  readonly #listeners = new Set<AgentStatusListener>();
  readonly #options: Required<Pick<AgentRegistryOptions, 'cardTtlMs' | 'refreshIntervalMs' | 'recheckUnavailableMs' | 'requestTimeoutMs'>> & {
    healthPath: string | null;
    cardPath: string | undefined;
  };
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #recheckTimer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  /** Re-checks of single unavailable agents in flight (at most one per agent). */
  readonly #rechecks = new Map<AgentState, Promise<void>>();
  #abort = new AbortController();

  constructor(options: AgentRegistryOptions) {
    const urls = [...new Set(options.agentUrls.map(normalizeBaseUrl))];
    this.#agents = urls.map((url) => ({ url, status: 'unknown', lastChecked: null, lastError: null, card: null, summary: null }));
    this.#cache = options.cache ?? new InMemoryAgentCardCache();
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#options = {
      cardTtlMs: options.cardTtlMs ?? DEFAULTS.cardTtlMs,
      refreshIntervalMs: options.refreshIntervalMs ?? DEFAULTS.refreshIntervalMs,
      recheckUnavailableMs: options.recheckUnavailableMs ?? DEFAULTS.recheckUnavailableMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      healthPath: options.healthPath === undefined ? '/health' : options.healthPath,
      cardPath: options.cardPath,
    };
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    if (options.onStatusChange !== undefined) this.#listeners.add(options.onStatusChange);
    this.#resolver = new DefaultAgentCardResolver({
      legacyCompat: { enabled: true },
      fetchImpl: (input, init) => this.#fetch(input, { ...init, signal: this.#signal() }),
      ...(options.cardPath === undefined ? {} : { path: options.cardPath }),
    });
  }

  /**
   * Checks every agent once, then keeps checking every `refreshIntervalMs`, and the unavailable ones
   * every `recheckUnavailableMs`. Idempotent.
   */
  async start(): Promise<void> {
    if (this.#timer !== undefined) return;
    if (this.#abort.signal.aborted) this.#abort = new AbortController();
    this.#timer = setInterval(() => void this.refresh(), this.#options.refreshIntervalMs);
    this.#timer.unref();
    this.#recheckTimer = setInterval(() => this.#recheckUnavailable(), this.#options.recheckUnavailableMs);
    this.#recheckTimer.unref();
    await this.refresh();
  }

  /** Stops background checks and aborts the ones in flight. `start()` may be called again later. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearInterval(this.#recheckTimer);
    this.#timer = undefined;
    this.#recheckTimer = undefined;
    this.#abort.abort();
    await Promise.all([this.#inFlight, ...this.#rechecks.values()]);
  }

  /** Checks each agent marked unavailable again (outside a full refresh, one check per agent at a time). */
  #recheckUnavailable(): void {
    if (this.#inFlight !== undefined) return;
    for (const agent of this.#agents) {
      if (agent.status !== 'unavailable' || this.#rechecks.has(agent)) continue;
      this.#rechecks.set(
        agent,
        this.#check(agent).finally(() => this.#rechecks.delete(agent)),
      );
    }
  }

  /**
   * Checks every agent now (in parallel). Never rejects: failures become agent statuses. Concurrent
   * calls share one run.
   */
  refresh(): Promise<void> {
    this.#inFlight ??= Promise.all(this.#agents.map((agent) => this.#check(agent))).then(
      () => {
        this.#inFlight = undefined;
      },
      // #check catches everything; this is a last line of defence so a refresh never rejects.
      (error: unknown) => {
        this.#inFlight = undefined;
        this.#logger?.error({ err: error }, 'agent discovery refresh failed');
      },
    );
    return this.#inFlight;
  }

  /** Subscribes to status transitions; returns the unsubscribe function. */
  onStatusChange(listener: AgentStatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every configured agent, in configuration order. Returned objects are snapshots. */
  list(): AgentInfo[] {
    return this.#agents.map(toInfo);
  }

  /** The agent with this card name, preferring an available one when several URLs serve it. */
  get(name: string): AgentInfo | undefined {
    const matches = this.#agents.filter((agent) => agent.summary?.name === name);
    const best = matches.find((agent) => agent.status === 'available') ?? matches[0];
    return best === undefined ? undefined : toInfo(best);
  }

  /**
   * The agent offering a skill id, preferring an available one. An unavailable match is still
   * returned (check `agent.status`) so a caller can tell "down" from "nobody offers this".
   */
  resolveSkill(skillId: string): SkillMatch | undefined {
    let fallback: SkillMatch | undefined;
    for (const agent of this.#agents) {
      const skill = agent.summary?.skills.find((candidate) => candidate.id === skillId);
      if (skill === undefined) continue;
      const match = { agent: toInfo(agent), skill: { ...skill } };
      if (agent.status === 'available') return match;
      fallback ??= match;
    }
    return fallback;
  }

  /** The planner's catalog: every agent with a known card, its skills and whether it can be called now. */
  skills(): AgentSkillCatalogEntry[] {
    return this.#agents.flatMap((agent) => {
      const summary = agent.summary;
      if (summary === null) return [];
      return [
        {
          agent: summary.name,
          url: agent.url,
          endpoint: summary.interfaces[0]?.url ?? agent.url,
          description: summary.description,
          available: agent.status === 'available',
          status: agent.status,
          streaming: summary.streaming,
          skills: summary.skills.map((skill) => ({ ...skill, tags: [...skill.tags], examples: [...skill.examples] })),
        },
      ];
    });
  }

  async #check(agent: AgentState): Promise<void> {
    let error: string | null = null;
    try {
      const { card, summary } = await this.#loadCard(agent.url);
      agent.card = card;
      agent.summary = summary;
      error = await this.#probeHealth(agent.url);
    } catch (caught) {
      error = describeError(caught, this.#options.requestTimeoutMs);
    }
    // A check aborted by stop() says nothing about the agent: keep its last status.
    if (this.#abort.signal.aborted) return;
    agent.lastChecked = new Date(this.#now()).toISOString();
    agent.lastError = error;
    this.#transition(agent, error === null ? 'available' : 'unavailable');
  }

  async #loadCard(url: string): Promise<{ card: AgentCard; summary: AgentCardSummary }> {
    const cached = await this.#cache.get(url).catch((error: unknown) => {
      this.#logger?.warn({ err: error, agent_url: url }, 'agent card cache unavailable; fetching the card');
      return undefined;
    });
    if (cached !== undefined) {
      const summary = AgentCardSummary.safeParse(cached.card);
      if (summary.success) return { card: cached.card, summary: summary.data };
    }
    const resolved = await this.#resolver.resolve(url);
    const summary = AgentCardSummary.safeParse(resolved);
    if (!summary.success) {
      const issue = summary.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `;
      throw new EnsembleError(ErrorCode.UpstreamError, `invalid agent card (${where}${issue?.message ?? 'does not match'})`, {
        wireCode: 'invalid_agent_card',
      });
    }
    // Round-trip through the SDK codec: the resolver may hand back the raw JSON; this gives a fully
    // populated SDK `AgentCard` whatever the agent omitted.
    const card = AgentCard.fromJSON(AgentCard.toJSON(resolved));
    await this.#cache.set(url, { card, fetchedAt: this.#now() }, this.#options.cardTtlMs).catch((error: unknown) => {
      this.#logger?.warn({ err: error, agent_url: url }, 'could not cache the agent card');
    });
    return { card, summary: summary.data };
  }

  /** `null` when healthy, else why not. */
  async #probeHealth(url: string): Promise<string | null> {
    if (this.#options.healthPath === null) return null;
    const response = await this.#fetch(new URL(this.#options.healthPath, `${url}/`), { signal: this.#signal() });
    await response.body?.cancel();
    if (response.ok || response.status === 404 || response.status === 405) return null;
    return `health check answered ${response.status}`;
  }

  #transition(agent: AgentState, current: AgentStatus): void {
    const previous = agent.status;
    agent.status = current;
    if (previous === current) return;
    const change: AgentStatusChange = { url: agent.url, name: agent.summary?.name ?? null, previous, current, error: agent.lastError, at: agent.lastChecked ?? '' };
    const fields = { agent_url: agent.url, agent: change.name, previous, status: current };
    if (current === 'available') this.#logger?.info(fields, previous === 'unknown' ? 'agent discovered' : 'agent available again');
    else this.#logger?.warn({ ...fields, error: agent.lastError }, 'agent unavailable');
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#logger?.error({ err: error, agent_url: agent.url }, 'agent status listener threw');
      }
    }
  }

  #signal(): AbortSignal {
    return AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#options.requestTimeoutMs)]);
  }
}

/** Parses and normalises a base URL (no trailing slash); a bad one is a configuration error. */
function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new EnsembleError(ErrorCode.InvalidRequest, `Agent URL is not a valid URL: "${raw}"`, { wireCode: 'invalid_agent_url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EnsembleError(ErrorCode.InvalidRequest, `Agent URL must be http(s): "${raw}"`, { wireCode: 'invalid_agent_url' });
  }
  return url.href.replace(/\/+$/, '');
}

function toInfo(agent: AgentState): AgentInfo {
  return {
    name: agent.summary?.name ?? null,
    url: agent.url,
    endpoint: agent.summary?.interfaces[0]?.url ?? null,
    status: agent.status,
    lastChecked: agent.lastChecked,
    lastError: agent.lastError,
    card: agent.card === null ? null : AgentCard.fromJSON(AgentCard.toJSON(agent.card)),
    summary: agent.summary === null ? null : structuredClone(agent.summary),
  };
}

/** A short, log-friendly reason: the cause's code for network errors, never a stack. */
function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  if (error instanceof Error) {
    const cause: unknown = error.cause;
    const code = typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
    return code === undefined ? error.message : `${error.message} (${code})`;
  }
  return String(error);
}
