import { randomUUID } from 'node:crypto';

import type { NodeResult, Session, SessionPatch, SessionRecord, SessionTombstone } from '@ensemble/protocol';

import { acquireWithin, ManagedLease, withLease } from './lease.js';
import { applyPatch, checkNodeResult, conflict, finished, isSessionId, newRecord, notFound, tombstoneFor, withNodes } from './records.js';
import {
  type CreateSessionInput,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_SESSION_TTL_MS,
  DEFAULT_TOMBSTONE_TTL_MS,
  type FinishOutcome,
  type LeaseOptions,
  type ListResumableOptions,
  type SessionLease,
  type SessionStore,
} from './session-store.js';

export interface InMemorySessionStoreOptions {
  ttlMs?: number;
  tombstoneTtlMs?: number;
  /** Clock for TTLs and lease expiry (tests move it forward). Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  record: SessionRecord;
  nodes: Map<string, NodeResult>;
  expiresAt: number;
  /** Last write of any kind (record or node), for `listResumable`'s `minIdleMs`. */
  activeAt: number;
}

/**
 * A `SessionStore` in process memory: for tests and single-process development. Same contract as the
 * Redis store (TTL, tombstones, leases, owner scoping), checked lazily against the injected clock.
 */
export class InMemorySessionStore implements SessionStore {
  readonly #ttlMs: number;
  readonly #tombstoneTtlMs: number;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Entry>();
  readonly #locks = new Map<string, { token: string; expiresAt: number }>();
  /** Last fencing token handed out per session. */
  readonly #fences = new Map<string, number>();
  readonly #tombstones = new Map<string, { tombstone: SessionTombstone; expiresAt: number }>();

  constructor(options: InMemorySessionStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#tombstoneTtlMs = options.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  async create(input: CreateSessionInput): Promise<Session> {
    const now = this.#now();
    const record = newRecord(input, now);
    this.#sessions.set(record.id, { record, nodes: new Map(), expiresAt: now + this.#ttlMs, activeAt: now });
    return structuredClone(withNodes(record, {}));
  }

  async get(id: string, owner: string): Promise<Session> {
    const entry = this.#entry(id, owner);
    return structuredClone(withNodes(entry.record, Object.fromEntries(entry.nodes)));
  }

  async list(owner: string, options: { limit?: number } = {}): Promise<SessionRecord[]> {
    const records = [...this.#sessions.keys()].flatMap((id) => {
      const entry = this.#live(id);
      return entry !== undefined && entry.record.owner === owner ? [entry.record] : [];
    });
    records.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return structuredClone(records.slice(0, options.limit ?? 100));
  }

  async update(id: string, owner: string, patch: SessionPatch | ((current: SessionRecord) => SessionPatch)): Promise<SessionRecord> {
    const entry = this.#entry(id, owner);
    const now = this.#now();
    const changes = typeof patch === 'function' ? patch(structuredClone(entry.record)) : patch;
    entry.record = applyPatch(entry.record, structuredClone(changes), now);
    this.#touch(entry, now);
    return structuredClone(entry.record);
  }

  async putNodeResult(id: string, owner: string, nodeId: string, result: NodeResult): Promise<void> {
    const checked = checkNodeResult(nodeId, result);
    const entry = this.#entry(id, owner);
    entry.nodes.set(nodeId, structuredClone(checked));
    this.#touch(entry, this.#now());
  }

  async finish(id: string, owner: string, outcome: FinishOutcome): Promise<SessionTombstone> {
    const entry = this.#entry(id, owner);
    const now = this.#now();
    const tombstone = tombstoneFor(entry.record, outcome, now);
    this.#remove(id);
    this.#tombstones.set(id, { tombstone, expiresAt: now + this.#tombstoneTtlMs });
    return structuredClone(tombstone);
  }

  async delete(id: string, owner: string): Promise<void> {
    this.#entry(id, owner);
    this.#remove(id);
  }

  async acquireLease(id: string, owner: string, options: LeaseOptions = {}): Promise<SessionLease> {
    this.#entry(id, owner);
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    const token = randomUUID();
    const acquired = await acquireWithin(options.waitMs ?? 0, async () => {
      if (this.#live(id) === undefined) throw notFound(id);
      const lock = this.#lockOf(id);
      if (lock !== undefined && lock.token !== token) return false;
      this.#locks.set(id, { token, expiresAt: this.#now() + ttlMs });
      return true;
    });
    if (!acquired) throw conflict(id);
    const fencingToken = (this.#fences.get(id) ?? 0) + 1;
    this.#fences.set(id, fencingToken);
    return new ManagedLease(
      id,
      token,
      fencingToken,
      ttlMs,
      {
        renew: async (held, ttl) => {
          if (this.#lockOf(id)?.token !== held) return false;
          this.#locks.set(id, { token: held, expiresAt: this.#now() + ttl });
          return true;
        },
        release: async (held) => {
          if (this.#lockOf(id)?.token === held) this.#locks.delete(id);
        },
      },
      { autoRenew: options.autoRenew ?? false, onRenew: options.onRenew, now: this.#now },
    );
  }

  withLock<T>(id: string, owner: string, fn: (lease: SessionLease) => Promise<T>, options: LeaseOptions = {}): Promise<T> {
    return withLease(this, id, owner, fn, options);
  }

  async listResumable(options: ListResumableOptions = {}): Promise<SessionRecord[]> {
    const idleBefore = this.#now() - (options.minIdleMs ?? 0);
    const entries = [...this.#sessions.keys()].flatMap((id) => {
      const entry = this.#live(id);
      return entry !== undefined && entry.record.status === 'active' && entry.activeAt <= idleBefore && this.#lockOf(id) === undefined ? [entry] : [];
    });
    entries.sort((a, b) => a.activeAt - b.activeAt);
    return structuredClone(entries.slice(0, options.limit ?? 100).map((entry) => entry.record));
  }

  async close(): Promise<void> {}

  /** The live, owned session, or `not_found` (telling the owner when it finished). */
  #entry(id: string, owner: string): Entry {
    const entry = isSessionId(id) ? this.#live(id) : undefined;
    if (entry !== undefined && entry.record.owner === owner) return entry;
    const tomb = this.#tombstones.get(id);
    if (entry === undefined && tomb !== undefined && tomb.expiresAt > this.#now() && tomb.tombstone.owner === owner) throw finished(structuredClone(tomb.tombstone));
    throw notFound(id);
  }

  #live(id: string): Entry | undefined {
    const entry = this.#sessions.get(id);
    if (entry !== undefined && entry.expiresAt <= this.#now()) {
      this.#remove(id);
      return undefined;
    }
    return entry;
  }

  #lockOf(id: string): { token: string; expiresAt: number } | undefined {
    const lock = this.#locks.get(id);
    if (lock !== undefined && lock.expiresAt <= this.#now()) {
      this.#locks.delete(id);
      return undefined;
    }
    return lock;
  }

  #touch(entry: Entry, now: number): void {
    entry.expiresAt = now + this.#ttlMs;
    entry.activeAt = now;
  }

  #remove(id: string): void {
    this.#sessions.delete(id);
    this.#locks.delete(id);
  }
}
