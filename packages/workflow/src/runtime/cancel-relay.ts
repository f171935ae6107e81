import type { Logger } from '@ensemble/telemetry';
import type { Redis } from 'ioredis';

/**
 * Cancellation requests relayed between orchestrator processes over Redis pub/sub: whichever process
 * receives a cancel for a session it is not running publishes it, and the one running it aborts.
 * Delivery is at-most-once; a session nobody runs is cancelled directly by the requester.
 */
export class CancelRelay {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #logger: Logger;

  constructor(redis: Redis, options: { keyPrefix: string; logger: Logger }) {
    this.#publisher = redis;
    // A subscribed connection can do nothing else, so it gets its own.
    this.#subscriber = redis.duplicate();
    this.#subscriber.on('error', (error) => options.logger.warn({ err: error }, 'cancel relay connection error'));
    this.#channel = `${options.keyPrefix}orchestrator:cancel`;
    this.#logger = options.logger;
  }

  /** Starts listening; `onCancel` receives every relayed session id. */
  async start(onCancel: (sessionId: string) => void): Promise<void> {
    this.#subscriber.on('message', (channel: string, sessionId: string) => {
      if (channel === this.#channel) onCancel(sessionId);
    });
    await this.#subscriber.subscribe(this.#channel);
  }

  /** Asks every orchestrator to cancel `sessionId`; resolves with how many processes listened. */
  async publish(sessionId: string): Promise<number> {
    const receivers = await this.#publisher.publish(this.#channel, sessionId);
    this.#logger.info({ session_id: sessionId, receivers }, 'relayed session cancel');
    return receivers;
  }

  async stop(): Promise<void> {
    this.#subscriber.disconnect();
  }
}
