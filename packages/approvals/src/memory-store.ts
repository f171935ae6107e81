import type { ApprovalRecord } from '@ensemble/protocol';

import {
  type ApprovalDecisionInput,
  type ApprovalPage,
  type ApprovalStore,
  type ApprovalStoreOptions,
  DEFAULT_CLAIM_LIMIT,
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
      return structuredClone(expired);
    });
  }

  async nextDeadlineIn(): Promise<number | undefined> {
    const deadlines = [...this.records.values()].filter((record) => record.status === 'pending').map((record) => Date.parse(record.expires_at));
    return deadlines.length === 0 ? undefined : Math.max(0, Math.min(...deadlines) - this.now());
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
