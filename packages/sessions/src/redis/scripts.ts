import { createHash } from 'node:crypto';

import { ReplyError, type Redis } from 'ioredis';

/**
 * Lua scripts: each one is a single atomic step on the server, so no other client's command can land in
 * the middle. Scripts are run by SHA (EVALSHA) and re-sent only when the server does not know them.
 * Every script touches keys of one session plus its index keys: single-node Redis (or Sentinel), not
 * Redis Cluster.
 */
export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** KEYS: lock. ARGV: token, ttlMs. 1 = held by token now (idempotent: a retried acquire succeeds). */
export const ACQUIRE = script(`
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local fence = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return fence
`);

/** KEYS: lock. ARGV: token, ttlMs. 1 = extended; 0 = not ours any more. */
export const RENEW = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`);

/** KEYS: lock. ARGV: token. Compare-and-delete: never frees someone else's lock. */
export const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

/**
 * Compare-and-set of the record. KEYS: record, nodes, owner index, active index.
 * ARGV: expected JSON, new JSON, ttlMs, id, 1 if the new status is active else 0, now (ms).
 * 1 = written; 0 = the record changed (or vanished) since it was read.
 */
export const UPDATE = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[4])
else
  redis.call('ZREM', KEYS[4], ARGV[4])
end
return 1
`);

/**
 * One node's result, only if the session exists and belongs to the owner. KEYS: record, nodes, owner
 * index, active index. ARGV: owner, node id, result JSON, ttlMs, id, now (ms).
 * 1 = written; 0 = missing or not the owner's. Refreshes the TTLs and the activity score.
 *
 * Ownership is read from the owner's index (O(log n)), which holds every session the owner created;
 * only a session missing from it has its record decoded. Decoding the record (request and plan: tens
 * of kB for a 50-node plan) for each of a node's three writes made Redis the bottleneck of a layer's
 * nodes finishing together.
 */
export const PUT_NODE = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if not redis.call('ZSCORE', KEYS[3], ARGV[5]) then
  if cjson.decode(redis.call('GET', KEYS[1]))['owner'] ~= ARGV[1] then return 0 end
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[4], 'XX', ARGV[6], ARGV[5])
return 1
`);

export async function runScript(redis: Redis, lua: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(lua.sha, keys.length, ...keys, ...args);
  } catch (error) {
    // NOSCRIPT is the protocol's error prefix for an unknown SHA (after a restart or SCRIPT FLUSH).
    if (!(error instanceof Error) || !(error instanceof ReplyError) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(lua.source, keys.length, ...keys, ...args);
  }
}
