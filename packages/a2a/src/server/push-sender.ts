import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

import { type StreamResponse, type Task, type TaskPushNotificationConfig, TaskState } from '@a2a-js/sdk';
import { V03PushNotificationSerializer } from '@a2a-js/sdk/compat/v0_3/server';
import {
  type PushNotificationSender,
  type PushNotificationSerializer,
  type PushNotificationStore,
  type ServerCallContext,
  type StoredPushNotificationConfig,
  V1PushNotificationSerializer,
} from '@a2a-js/sdk/server';
import type { Logger } from '@ensemble/telemetry';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';

import { isInterruptedState, isTerminalState } from '../parts.js';
import { type HostResolver, type ResolvedAddress, checkPushUrl } from './push-url.js';

/** Header carrying a config's `token`, as the SDK's sender and the Python SDK name it. */
export const PUSH_TOKEN_HEADER = 'X-A2A-Notification-Token';

export interface PushDeliveryOptions {
  /** Where the configs are (the same store the request handler saves them in). */
  store: PushNotificationStore;
  logger: Logger;
  /** Allow loopback and private-network webhooks (`A2A_PUSH_ALLOW_PRIVATE`). Default false. */
  allowPrivate?: boolean;
  /** Host resolution for the URL check; injected in tests. */
  resolve?: HostResolver;
  /** Time one POST's connection may stay idle (connecting, or waiting for the answer). Default 5 s. */
  timeoutMs?: number;
  /** Attempts per notification and webhook, the first included. Default 3. */
  maxAttempts?: number;
  /** First retry delay (doubled each time, up to 2 s). Default 200 ms. */
  initialDelayMs?: number;
}

/** Tasks whose last notified state is remembered (a task forgotten early may repeat one notification). */
const MAX_TRACKED_TASKS = 10_000;

/** A failed delivery worth another attempt: the webhook could not be reached, or answered 429 / 5xx. */
class RetryableDeliveryError extends Error {
  override readonly name = 'RetryableDeliveryError';
}

/**
 * The kit's `PushNotificationSender`, given to the SDK's request handler. The handler calls `send` for
 * every event of a task it processes (fire and forget); this sender POSTs the task's `StreamResponse`
 * (the SDK's own serializers: v1.0 ProtoJSON, or the v0.3 shape for a config registered over v0.3) to
 * every config of the task, when the task's **state changes** (streamed artifact chunks and progress
 * messages in the same state are not notifications).
 *
 * What it adds to the SDK's `DefaultPushNotificationSender`, which cannot be extended for these: the
 * URL is checked again before each delivery (`checkPushUrl`: DNS may have changed since the config was
 * set) and the POST connects to an address that check accepted; `authentication` becomes
 * `Authorization: <scheme> <credentials>` and `token` is sent in `X-A2A-Notification-Token` (both when
 * both are set); failures are retried with backoff (`maxAttempts`, then logged and dropped: a delivery
 * never fails or blocks the task); logs go through the service's logger. Notifications of one task are
 * delivered in order.
 */
export class KitPushNotificationSender implements PushNotificationSender {
  private readonly serializers: Record<string, PushNotificationSerializer> = {
    '1.0': new V1PushNotificationSerializer(),
    '0.3': new V03PushNotificationSerializer(),
  };
  /** Last state notified per task (in this process); forgotten once the task is final. */
  private readonly lastState = new Map<string, TaskState>();
  /** Per task, the chain of its deliveries, so they arrive in order. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly policy;

  constructor(private readonly options: PushDeliveryOptions) {
    this.policy = retry(
      handleWhen((error) => error instanceof RetryableDeliveryError),
      {
        maxAttempts: Math.max(0, (options.maxAttempts ?? 3) - 1),
        backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 200, maxDelay: 2_000 }),
      },
    );
  }

  send(streamResponse: StreamResponse, context: ServerCallContext, task?: Task): Promise<void> {
    const change = stateChange(streamResponse);
    if (change === undefined || this.lastState.get(change.taskId) === change.state) return Promise.resolve();
    this.lastState.delete(change.taskId);
    if (!isTerminalState(change.state)) {
      this.lastState.set(change.taskId, change.state);
      // Paused tasks may resume on another replica and never end here: keep the most recent ones only.
      if (this.lastState.size > MAX_TRACKED_TASKS) this.lastState.delete(this.lastState.keys().next().value!);
    }

    const previous = this.chains.get(change.taskId) ?? Promise.resolve();
    const next = previous.then(() => this.deliverAll(change.taskId, streamResponse, context, task));
    this.chains.set(change.taskId, next);
    return next.finally(() => {
      if (this.chains.get(change.taskId) === next) this.chains.delete(change.taskId);
    });
  }

  /** Resolves once every delivery under way has finished (at shutdown), or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all([...this.chains.values()]), deadline]);
    clearTimeout(timer);
  }

  private async deliverAll(taskId: string, streamResponse: StreamResponse, context: ServerCallContext, task: Task | undefined): Promise<void> {
    let configs: StoredPushNotificationConfig[];
    try {
      configs = await loadConfigs(this.options.store, taskId, context);
    } catch (error) {
      this.options.logger.warn({ err: error, task_id: taskId }, 'push notification configs could not be loaded');
      return;
    }
    await Promise.all(configs.map((stored) => this.deliver(taskId, stored, streamResponse, task)));
  }

  private async deliver(taskId: string, stored: StoredPushNotificationConfig, streamResponse: StreamResponse, task: Task | undefined): Promise<void> {
    const { config } = stored;
    const log = { task_id: taskId, push_config_id: config.id, webhook: redactedUrl(config.url) };
    const checked = await checkPushUrl(config.url, { allowPrivate: this.options.allowPrivate ?? false, resolve: this.options.resolve });
    if (!checked.ok) {
      this.options.logger.warn({ ...log, reason: checked.reason }, 'push notification not sent: webhook URL refused');
      return;
    }
    const serializer = this.serializers[stored.wireVersion] ?? this.serializers['1.0']!;
    const { body, contentType } = serializer.serialize(streamResponse, task);
    const headers = { 'Content-Type': contentType, ...authHeaders(config) };
    let attempts = 0;
    try {
      await this.policy.execute(() => {
        attempts += 1;
        return post(checked.url, checked.addresses, body, headers, this.options.timeoutMs ?? 5_000);
      });
      this.options.logger.debug({ ...log, attempts }, 'push notification delivered');
    } catch (error) {
      this.options.logger.warn({ ...log, attempts, err: error }, 'push notification not delivered; giving up');
    }
  }
}

/**
 * The task id and state a stream event sets, or `undefined` when it changes no state. A task snapshot in
 * an interrupted state (auth- or input-required) is where a follow-up turn starts, possibly on another
 * replica: that state was notified when the task entered it.
 */
function stateChange(streamResponse: StreamResponse): { taskId: string; state: TaskState } | undefined {
  const payload = streamResponse.payload;
  if (payload?.$case === 'task') {
    const state = payload.value.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
    return isInterruptedState(state) ? undefined : { taskId: payload.value.id, state };
  }
  if (payload?.$case === 'statusUpdate') return { taskId: payload.value.taskId, state: payload.value.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED };
  return undefined;
}

async function loadConfigs(store: PushNotificationStore, taskId: string, context: ServerCallContext): Promise<StoredPushNotificationConfig[]> {
  if (store.loadWithMetadata !== undefined) return store.loadWithMetadata(taskId, context);
  const wireVersion = context.requestedVersion || '0.3';
  return (await store.load(taskId, context)).map((config) => ({ config, wireVersion }));
}

/** `authentication` as an `Authorization` header, and `token` in its own header. */
export function authHeaders(config: TaskPushNotificationConfig): Record<string, string> {
  const headers: Record<string, string> = {};
  const auth = config.authentication;
  if (auth !== undefined && auth.scheme !== '' && auth.credentials !== '') headers['Authorization'] = `${auth.scheme} ${auth.credentials}`;
  if (config.token !== '') headers[PUSH_TOKEN_HEADER] = config.token;
  return headers;
}

/** The URL for logs: no credentials, query or fragment (they may carry secrets). */
function redactedUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(malformed)';
  }
}

/**
 * One POST to `url`, connecting to the first of `addresses` (the ones `checkPushUrl` accepted) instead
 * of resolving the host again. Redirects are not followed (a 3xx is a final failure): a webhook cannot
 * send the agent on to an address the check would refuse. Resolves on a 2xx answer; a 429 / 5xx answer
 * or a network failure is retryable, any other answer is final.
 */
function post(url: URL, addresses: readonly ResolvedAddress[], body: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  const target = addresses[0]!;
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all === true) (callback as (error: null, addresses: Array<{ address: string; family: number }>) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<void>((resolve, reject) => {
    const req = send(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, lookup, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else if (status === 429 || status >= 500) reject(new RetryableDeliveryError(`webhook answered HTTP ${status}`));
        else reject(new Error(`webhook answered HTTP ${status}`));
      });
      res.on('error', (error) => reject(new RetryableDeliveryError(`webhook answer failed: ${error.message}`)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => reject(new RetryableDeliveryError(`webhook unreachable: ${error.message}`)));
    req.end(body);
  });
}
