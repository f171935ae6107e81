import { FinishedWorkflow } from '@ensemble/protocol';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Finished workflows' answers (`FinishedWorkflow`, a `@ensemble/protocol` schema), kept for a short
 * retention after the session itself is deleted. This is how a client gets the result of a workflow that
 * finished while nobody was listening (a background resume after a crash): it sends a message on the
 * session id and gets the answer replayed.
 */
export interface ResultStore {
  put(result: FinishedWorkflow): Promise<void>;
  /** The owner's finished workflow, or `undefined` (unknown, expired, or another owner's). */
  get(sessionId: string, owner: string): Promise<FinishedWorkflow | undefined>;
}

/** `orchestrator:result:{sessionId}` JSON with a TTL, beside the session keys. */
export class RedisResultStore implements ResultStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number;

  constructor(redis: Redis, options: { keyPrefix: string; ttlSeconds: number }) {
    this.#redis = redis;
    this.#prefix = options.keyPrefix;
    this.#ttlSeconds = options.ttlSeconds;
  }

  key(sessionId: string): string {
    return `${this.#prefix}orchestrator:result:${sessionId}`;
  }

  async put(result: FinishedWorkflow): Promise<void> {
    await this.#redis.set(this.key(result.sessionId), JSON.stringify(FinishedWorkflow.parse(result)), 'EX', this.#ttlSeconds);
  }

  async get(sessionId: string, owner: string): Promise<FinishedWorkflow | undefined> {
    if (!z.uuid().safeParse(sessionId).success) return undefined;
    const raw = await this.#redis.get(this.key(sessionId));
    if (raw === null) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const parsed = FinishedWorkflow.safeParse(json);
    // Another owner's result is indistinguishable from none.
    return parsed.success && parsed.data.owner === owner ? parsed.data : undefined;
  }
}
