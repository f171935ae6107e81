import { ApprovalRecord } from '@ensemble/protocol';
import { Redis } from 'ioredis';

import {
  type ApprovalDecisionInput,
  type ApprovalPage,
  type ApprovalStore,
  type ApprovalStoreOptions,
  type ApprovalWakeup,
  DEFAULT_CLAIM_LIMIT,
  DEFAULT_WAKEUP_LIMIT,
  type DecisionPatch,
  type ListApprovalsOptions,
  type NewApproval,
  alreadyDecided,
  approvalNotFound,
  decisionPatch,
  newApprovalRecord,
  pageOf,
} from '../approval-store.js';

export interface RedisApprovalStoreOptions extends ApprovalStoreOptions {
  /** Put before every key (the app passes `REDIS_KEY_PREFIX`). Default ``. */
  keyPrefix?: string;
}

/**
 * KEYS: approval hash, due set, wake-up set. ARGV: owner, decision patch JSON, id, now (ms), wake-up member.
 * Returns {0} unknown / other owner, {1, status} already decided, {2} decided now. The status check,
 * the write and the session's wake-up are one atomic step, so of two concurrent decisions exactly one
 * wins, and no decision exists without its wake-up.
 */
const DECIDE_SCRIPT = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner or owner ~= ARGV[1] then return {0} end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' then return {1, status} end
redis.call('HSET', KEYS[1], 'status', cjson.decode(ARGV[2]).status, 'decision', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return {2}
`;

/** KEYS: wake-up set. ARGV: member, at. Removes the member unless a later decision re-added it. */
const CLEAR_WAKEUP_SCRIPT = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`;

/**
 * KEYS: due set, wake-up set. ARGV: now (ms), limit, approval key prefix, expiry patch JSON.
 * ZREM is the claim: only the caller whose ZREM removed an id expires it, so each approval expires once
 * whichever replica's timer fires first (after a restart too: the set is durable). The expiry wakes
 * its session in the same step.
 * The approval keys are derived from ids here, so this assumes a single Redis (not Redis Cluster).
 */
const CLAIM_SCRIPT = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local claimed = {}
for _, id in ipairs(due) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    local key = ARGV[3] .. id .. '}'
    if redis.call('HGET', key, 'status') == 'pending' then
      redis.call('HSET', key, 'status', 'expired', 'decision', ARGV[4])
      local record = cjson.decode(redis.call('HGET', key, 'record'))
      redis.call('ZADD', KEYS[2], ARGV[1], record.session_id .. ' ' .. record.owner)
      table.insert(claimed, id)
    end
  end
end
return claimed
`;

/** The wake-up set's member for a session: its id (a UUID, no spaces) first, so the owner may hold anything. */
function wakeupMember(sessionId: string, owner: string): string {
  return `${sessionId} ${owner}`;
}

/**
 * Approvals in Redis: a hash per approval (`approval:{id}`: owner, status, the record as created, the
 * decision patch), an owner index (sorted set by request time), one due set (sorted set by deadline)
 * that expiry claims from, and one wake-up set (sessions with decisions not yet taken up, by time). Any replica can serve any approval.
 */
export class RedisApprovalStore implements ApprovalStore {
  private readonly prefix: string;
  private readonly now: () => number;
  private ownsClient = false;

  constructor(
    private readonly redis: Redis,
    options: RedisApprovalStoreOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? '';
    this.now = options.now ?? Date.now;
    redis.defineCommand('ensembleApprovalDecide', { numberOfKeys: 3, lua: DECIDE_SCRIPT });
    redis.defineCommand('ensembleApprovalClaim', { numberOfKeys: 2, lua: CLAIM_SCRIPT });
    redis.defineCommand('ensembleApprovalClearWakeup', { numberOfKeys: 1, lua: CLEAR_WAKEUP_SCRIPT });
  }

  static fromUrl(url: string, options: RedisApprovalStoreOptions = {}): RedisApprovalStore {
    const store = new RedisApprovalStore(new Redis(url, { maxRetriesPerRequest: 2 }), options);
    store.ownsClient = true;
    return store;
  }

  /** The client with the commands `defineCommand` added in the constructor. */
  private get scripts(): RedisWithScripts {
    return this.redis as unknown as RedisWithScripts;
  }

  private key(id: string): string {
    return `${this.prefix}approval:{${id}}`;
  }

  private ownerKey(owner: string): string {
    return `${this.prefix}approvals:owner:{${owner}}`;
  }

  private get dueKey(): string {
    return `${this.prefix}approvals:due`;
  }

  private get wakeKey(): string {
    return `${this.prefix}approvals:wake`;
  }

  async create(input: NewApproval): Promise<ApprovalRecord> {
    const record = newApprovalRecord(input, this.now());
    await this.redis
      .multi()
      .hset(this.key(record.id), 'owner', record.owner, 'status', 'pending', 'record', JSON.stringify(record))
      .zadd(this.ownerKey(record.owner), Date.parse(record.requested_at), record.id)
      .zadd(this.dueKey, Date.parse(record.expires_at), record.id)
      .exec();
    return record;
  }

  /** The record regardless of owner (internal: expiry), or undefined. */
  private async load(id: string): Promise<ApprovalRecord | undefined> {
    const [record, decision] = await this.redis.hmget(this.key(id), 'record', 'decision');
    return record === null || record === undefined ? undefined : this.merge(record, decision ?? null);
  }

  private merge(record: string, decision: string | null): ApprovalRecord {
    const created: unknown = JSON.parse(record);
    const patch: unknown = decision === null ? {} : JSON.parse(decision);
    return ApprovalRecord.parse({ ...(created as object), ...(patch as object) });
  }

  async get(id: string, owner: string): Promise<ApprovalRecord | undefined> {
    const record = await this.load(id);
    return record?.owner === owner ? record : undefined;
  }

  async list(owner: string, options: ListApprovalsOptions = {}): Promise<ApprovalPage> {
    // The owner's whole index is read and ordered here: pending-first ordering changes with every
    // decision, which a single sorted set cannot keep. Fine for the hundreds of approvals a principal
    // has; an owner with many thousands would want a status-partitioned index.
    const ids = await this.redis.zrange(this.ownerKey(owner), 0, -1);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.key(id), 'record', 'decision');
    const rows = ids.length === 0 ? [] : ((await pipeline.exec()) ?? []);
    const records: ApprovalRecord[] = [];
    for (const [error, value] of rows) {
      if (error !== null) throw error;
      const [record, decision] = value as [string | null, string | null];
      if (record !== null) records.push(this.merge(record, decision));
    }
    return pageOf(records, options);
  }

  async decide(id: string, owner: string, decision: ApprovalDecisionInput): Promise<ApprovalRecord> {
    const record = await this.get(id, owner);
    if (record === undefined) throw approvalNotFound(id);
    if (record.status !== 'pending') throw alreadyDecided(id, record.status);
    const now = this.now();
    const patch = decisionPatch(record, decision, now);
    const member = wakeupMember(record.session_id, owner);
    const result = (await this.scripts.ensembleApprovalDecide(this.key(id), this.dueKey, this.wakeKey, owner, JSON.stringify(patch), id, now, member)) as [number, string?];
    if (result[0] === 0) throw approvalNotFound(id);
    if (result[0] === 1) throw alreadyDecided(id, result[1] ?? 'decided');
    return { ...record, ...patch };
  }

  async claimExpired(limit = DEFAULT_CLAIM_LIMIT): Promise<ApprovalRecord[]> {
    const now = this.now();
    const patch: Omit<DecisionPatch, 'arguments'> = { status: 'expired', decided_at: new Date(now).toISOString(), decided_by: null, comment: null, answer: null };
    const ids = (await this.scripts.ensembleApprovalClaim(this.dueKey, this.wakeKey, now, limit, `${this.prefix}approval:{`, JSON.stringify(patch))) as string[];
    const records = await Promise.all(ids.map((id) => this.load(id)));
    return records.filter((record): record is ApprovalRecord => record !== undefined);
  }

  async nextDeadlineIn(): Promise<number | undefined> {
    const [, score] = await this.redis.zrange(this.dueKey, 0, 0, 'WITHSCORES');
    return score === undefined ? undefined : Math.max(0, Number(score) - this.now());
  }

  async wakeups(options: { limit?: number; minAgeMs?: number } = {}): Promise<ApprovalWakeup[]> {
    const latest = this.now() - (options.minAgeMs ?? 0);
    const flat = await this.redis.zrangebyscore(this.wakeKey, '-inf', latest, 'WITHSCORES', 'LIMIT', 0, options.limit ?? DEFAULT_WAKEUP_LIMIT);
    const wakeups: ApprovalWakeup[] = [];
    for (let index = 0; index + 1 < flat.length; index += 2) {
      const member = flat[index] ?? '';
      const space = member.indexOf(' ');
      if (space > 0) wakeups.push({ sessionId: member.slice(0, space), owner: member.slice(space + 1), at: Number(flat[index + 1]) });
    }
    return wakeups;
  }

  async clearWakeup(wakeup: ApprovalWakeup): Promise<void> {
    await this.scripts.ensembleApprovalClearWakeup(this.wakeKey, wakeupMember(wakeup.sessionId, wakeup.owner), wakeup.at);
  }

  async close(): Promise<void> {
    // A client passed in belongs to the caller; one fromUrl opened is ours to close.
    if (this.ownsClient) await this.redis.quit();
  }
}

interface RedisWithScripts {
  ensembleApprovalDecide(key: string, dueKey: string, wakeKey: string, owner: string, patch: string, id: string, now: number, member: string): Promise<unknown>;
  ensembleApprovalClaim(dueKey: string, wakeKey: string, now: number, limit: number, keyPrefix: string, patch: string): Promise<unknown>;
  ensembleApprovalClearWakeup(wakeKey: string, member: string, at: number): Promise<unknown>;
}
