import type { ApprovalRecord } from '@ensemble/protocol';

import {
  type ApprovalDecisionInput,
  type ApprovalPage,
  type ApprovalStore,
  type ApprovalStoreOptions,
  type ApprovalWakeup,
  DEFAULT_CLAIM_LIMIT,
  DEFAULT_WAKEUP_LIMIT,
  type ListApprovalsOptions,
  type NewApproval,
  alreadyDecided,
  approvalNotFound,
  decisionPatch,
  expiryPatch,
  newApprovalRecord,
  pageOf,
} from './approval-store.js';

/** One process's approvals (tests, single-process runs). Returns copies, like a remote store would. */
export class InMemoryApprovalStore implements ApprovalStore {
  private readonly records = new Map<string, ApprovalRecord>();
  /** Wake-ups by session id. */
  private readonly pendingWakeups = new Map<string, ApprovalWakeup>();
  private readonly now: () => number;

  constructor(options: ApprovalStoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async create(input: NewApproval): Promise<ApprovalRecord> {
    const record = newApprovalRecord(input, this.now());
    this.records.set(record.id, record);
    return structuredClone(record);
  }

  async get(id: string, owner: string): Promise<ApprovalRecord | undefined> {
    const record = this.records.get(id);
    return record === undefined || record.owner !== owner ? undefined : structuredClone(record);
  }

  async list(owner: string, options: ListApprovalsOptions = {}): Promise<ApprovalPage> {
    const own = [...this.records.values()].filter((record) => record.owner === owner);
    const page = pageOf(own, options);
    return { data: page.data.map((record) => structuredClone(record)), nextCursor: page.nextCursor };
  }

  async decide(id: string, owner: string, decision: ApprovalDecisionInput): Promise<ApprovalRecord> {
    const record = this.records.get(id);
    if (record === undefined || record.owner !== owner) throw approvalNotFound(id);
    if (record.status !== 'pending') throw alreadyDecided(id, record.status);
    const decided: ApprovalRecord = { ...record, ...decisionPatch(record, decision, this.now()) };
    this.records.set(id, decided);
    this.wake(decided);
    return structuredClone(decided);
  }

  async claimExpired(limit = DEFAULT_CLAIM_LIMIT): Promise<ApprovalRecord[]> {
    const now = this.now();
    const due = [...this.records.values()]
      .filter((record) => record.status === 'pending' && Date.parse(record.expires_at) <= now)
      .sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at))
      .slice(0, limit);
    return due.map((record) => {
      const expired: ApprovalRecord = { ...record, ...expiryPatch(record, now) };
      this.records.set(record.id, expired);
      this.wake(expired);
      return structuredClone(expired);
    });
  }

  async nextDeadlineIn(): Promise<number | undefined> {
    const deadlines = [...this.records.values()].filter((record) => record.status === 'pending').map((record) => Date.parse(record.expires_at));
    return deadlines.length === 0 ? undefined : Math.max(0, Math.min(...deadlines) - this.now());
  }

  async wakeups(options: { limit?: number; minAgeMs?: number } = {}): Promise<ApprovalWakeup[]> {
    const latest = this.now() - (options.minAgeMs ?? 0);
    return [...this.pendingWakeups.values()]
      .filter((wakeup) => wakeup.at <= latest)
      .sort((a, b) => a.at - b.at)
      .slice(0, options.limit ?? DEFAULT_WAKEUP_LIMIT)
      .map((wakeup) => ({ ...wakeup }));
  }

  async clearWakeup(wakeup: ApprovalWakeup): Promise<void> {
    const current = this.pendingWakeups.get(wakeup.sessionId);
    if (current !== undefined && current.at <= wakeup.at) this.pendingWakeups.delete(wakeup.sessionId);
  }

  private wake(record: ApprovalRecord): void {
    this.pendingWakeups.set(record.session_id, { sessionId: record.session_id, owner: record.owner, at: this.now() });
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
