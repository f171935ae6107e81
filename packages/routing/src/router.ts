import {
  type ChatCompletionRequest,
  EnsembleError,
  ErrorCode,
  type RoutingDecision,
  type RoutingPath,
  toEnsembleError,
} from '@ensemble/protocol';
import { LRUCache } from 'lru-cache';

import type { RoutingClassifier } from './classifier.js';
import { conversationKey, conversationText } from './conversation.js';
import type { LocalRoutingClassifier } from './local/local-classifier.js';
import { type HeaderLookup, decideByRules } from './rules.js';

export interface RouteInput {
  request: ChatCompletionRequest;
  /** Request headers; see `decideByRules` for the ones read. */
  header: HeaderLookup;
  /** The client's request signal: when it aborts, routing stops and throws `cancelled`. */
  signal?: AbortSignal;
}

/**
 * Chooses the path of one chat request: fixed rules and headers first, then the local classifier (when
 * configured; no model call), then the LLM classifier (cached per conversation). Throws `invalid_request` (400) for malformed or contradictory
 * routing headers and `cancelled` when the client went away; every other failure (the classifier
 * erroring or timing out) becomes a passthrough decision with `source: 'fallback'`, never an error.
 */
export interface Router {
  route(input: RouteInput): Promise<RoutingDecision>;
  /**
   * The decision `route` makes without a model call (rules, headers, the local classifier), at once; or
   * `undefined` when it would ask the LLM classifier. Throws what `route` throws for bad headers.
   */
  decideWithoutModel(input: Pick<RouteInput, 'request' | 'header'>): RoutingDecision | undefined;
}

export interface RoutingCacheOptions {
  /** Most conversations remembered; the least recently used go first. */
  maxEntries: number;
  /** How long one classifier verdict is reused. */
  ttlMs: number;
}

export interface RouterOptions {
  /**
   * First stage after the rules: decides the obvious cases without a model call and abstains otherwise.
   * Its decisions have `source: 'local'` and are not cached (they cost less than a cache lookup).
   */
  local?: LocalRoutingClassifier;
  classifier: RoutingClassifier;
  /** Deadline for one classifier call; past it the request goes passthrough. */
  classifierTimeoutMs: number;
  /** Classifier verdict cache keyed by conversation text; `false` disables it. Default 10,000 / 10 min. */
  cache?: RoutingCacheOptions | false;
  /** Clock for the cache's TTL (tests move time forward); default `performance.now`. */
  now?: () => number;
  /** Told about every classifier failure that became a fallback (log it; the decision says why too). */
  onClassifierError?: (error: EnsembleError) => void;
}

interface CachedVerdict {
  path: RoutingPath;
  reason: string;
}

const DEFAULT_CACHE: RoutingCacheOptions = { maxEntries: 10_000, ttlMs: 10 * 60_000 };

export function createRouter(options: RouterOptions): Router {
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? DEFAULT_CACHE);
  const cache =
    cacheOptions === undefined
      ? undefined
      : new LRUCache<string, CachedVerdict>({
          max: cacheOptions.maxEntries,
          ttl: cacheOptions.ttlMs,
          // Check expiry against the clock on every read; the default 1 ms resolution caches `now()`.
          ttlResolution: 0,
          ...(options.now === undefined ? {} : { perf: { now: options.now } }),
        });

  async function classify(conversation: string, signal: AbortSignal | undefined): Promise<RoutingDecision> {
    const key = cache === undefined ? undefined : conversationKey(conversation);
    const hit = key === undefined ? undefined : cache?.get(key);
    if (hit !== undefined) return { ...hit, source: 'classifier', cached: true };

    const deadline = AbortSignal.timeout(options.classifierTimeoutMs);
    const combined = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
    try {
      const verdict = await untilAborted(options.classifier.classify(conversation, { signal: combined }), combined);
      const decided: CachedVerdict = {
        path: verdict.needs_orchestration ? 'orchestration' : 'passthrough',
        reason: verdict.reason.trim() === '' ? 'classifier gave no reason' : verdict.reason.trim(),
      };
      if (key !== undefined) cache?.set(key, decided);
      // The tokens were spent for this request only: a later cache hit costs nothing.
      return { ...decided, source: 'classifier', cached: false, ...(verdict.usage === undefined ? {} : { usage: verdict.usage }) };
    } catch (error) {
      if (signal?.aborted === true) {
        throw new EnsembleError(ErrorCode.Cancelled, 'Client closed the request during routing', { cause: error });
      }
      const failure = deadline.aborted
        ? new EnsembleError(ErrorCode.UpstreamTimeout, `Routing classifier timed out after ${options.classifierTimeoutMs} ms`, { cause: error })
        : toEnsembleError(error, ErrorCode.UpstreamError);
      options.onClassifierError?.(failure);
      // The reason reaches the client in a header: say what happened, not the upstream's message.
      const why = deadline.aborted ? `timed out after ${options.classifierTimeoutMs} ms` : `failed (${failure.code})`;
      return { path: 'passthrough', source: 'fallback', reason: `classifier ${why}; answering directly` };
    }
  }

  function decideLocally(request: ChatCompletionRequest): RoutingDecision | undefined {
    const local = options.local?.classify(request.messages);
    if (local?.path === undefined) return undefined;
    return { path: local.path, source: 'local', reason: local.reason, ...(local.confidence === undefined ? {} : { confidence: local.confidence }) };
  }

  return {
    decideWithoutModel: (input) => decideByRules(input.request, input.header) ?? decideLocally(input.request),
    async route(input) {
      const byRule = decideByRules(input.request, input.header);
      if (byRule !== undefined) return byRule;
      if (input.signal?.aborted === true) throw new EnsembleError(ErrorCode.Cancelled, 'Client closed the request during routing');
      return decideLocally(input.request) ?? classify(conversationText(input.request.messages), input.signal);
    },
  };
}

/** Settles with `promise`, or rejects as soon as `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
