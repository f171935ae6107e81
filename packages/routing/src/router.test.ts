import { type ChatCompletionRequest, EnsembleError, ErrorCode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import type { ClassifiedConversation, RoutingClassifier } from './classifier.js';
import type { LocalRoutingClassifier, LocalRoutingVerdict } from './local/local-classifier.js';
import { createLocalRoutingClassifier } from './local/local-classifier.js';
import { createRouter } from './router.js';

/** A typed fake: answers from a queue of scripted verdicts (or failures) and records what it was asked. */
class ScriptedClassifier implements RoutingClassifier {
  readonly calls: string[] = [];
  readonly signals: AbortSignal[] = [];
  constructor(private readonly script: Array<ClassifiedConversation | Error | 'hang' | 'hang-ignoring-signal'>) {}

  classify(conversation: string, options: { signal: AbortSignal }): Promise<ClassifiedConversation> {
    this.calls.push(conversation);
    this.signals.push(options.signal);
    const next = this.script.shift();
    if (next === undefined) return Promise.reject(new Error('classifier called more often than scripted'));
    if (next === 'hang-ignoring-signal') return new Promise(() => {});
    if (next === 'hang') {
      return new Promise((_resolve, reject) => options.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }
}

const noHeaders = () => undefined;
function request(text: string, extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest {
  return { model: 'm', messages: [{ role: 'user', content: text }], ...extra };
}

describe('createRouter', () => {
  it('asks the classifier with the role-tagged conversation and maps its verdict', async () => {
    const classifier = new ScriptedClassifier([{ needs_orchestration: true, reason: ' compare three sources ' }]);
    const router = createRouter({ classifier, classifierTimeoutMs: 1_000 });
    const decision = await router.route({
      request: { model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'research X' }] }] },
      header: noHeaders,
    });
    expect(decision).toEqual({ path: 'orchestration', source: 'classifier', cached: false, reason: 'compare three sources' });
    expect(classifier.calls).toEqual(['system: be brief\nuser: research X']);
  });

  it('carries the classifier call’s usage on a fresh decision only: a cache hit cost nothing', async () => {
    const usage = { prompt_tokens: 120, completion_tokens: 14, total_tokens: 134 };
    const classifier = new ScriptedClassifier([{ needs_orchestration: true, reason: 'research', usage }]);
    const router = createRouter({ classifier, classifierTimeoutMs: 1_000 });
    expect(await router.route({ request: request('research X'), header: noHeaders })).toEqual({ path: 'orchestration', source: 'classifier', cached: false, reason: 'research', usage });
    expect(await router.route({ request: request('research X'), header: noHeaders })).toEqual({ path: 'orchestration', source: 'classifier', cached: true, reason: 'research' });
  });

  it('never calls the classifier when a rule or header decides', async () => {
    const classifier = new ScriptedClassifier([]);
    const router = createRouter({ classifier, classifierTimeoutMs: 1_000 });
    const decision = await router.route({ request: request('hi', { response_format: { type: 'json_object' } }), header: noHeaders });
    expect(decision.source).toBe('rule');
    await expect(router.route({ request: request('hi'), header: (name) => (name === 'X-Routing-Mode' ? 'bogus' : undefined) })).rejects.toMatchObject({
      code: ErrorCode.InvalidRequest,
    });
    expect(classifier.calls).toHaveLength(0);
  });

  it('caches verdicts per conversation text until the TTL passes', async () => {
    let now = 1_000;
    const classifier = new ScriptedClassifier([
      { needs_orchestration: false, reason: 'simple' },
      { needs_orchestration: false, reason: 'other' },
      { needs_orchestration: true, reason: 'changed my mind' },
    ]);
    const router = createRouter({ classifier, classifierTimeoutMs: 1_000, cache: { maxEntries: 10, ttlMs: 60_000 }, now: () => now });
    expect(await router.route({ request: request('hello'), header: noHeaders })).toMatchObject({ reason: 'simple', cached: false });
    // Other request fields (model, temperature) do not change the key: only the conversation does.
    expect(await router.route({ request: request('hello', { model: 'other', temperature: 1 }), header: noHeaders })).toEqual({
      path: 'passthrough',
      source: 'classifier',
      cached: true,
      reason: 'simple',
    });
    expect(await router.route({ request: request('hello again'), header: noHeaders })).toMatchObject({ reason: 'other', cached: false });
    now += 60_001;
    expect(await router.route({ request: request('hello'), header: noHeaders })).toMatchObject({ path: 'orchestration', cached: false });
    expect(classifier.calls).toEqual(['user: hello', 'user: hello again', 'user: hello']);
  });

  it('evicts the least recently used conversation when the cache is full', async () => {
    const verdict = { needs_orchestration: false, reason: 'simple' };
    const classifier = new ScriptedClassifier([verdict, verdict, verdict, verdict]);
    const router = createRouter({ classifier, classifierTimeoutMs: 1_000, cache: { maxEntries: 2, ttlMs: 60_000 } });
    for (const text of ['a', 'b', 'a', 'c', 'a', 'b']) await router.route({ request: request(text), header: noHeaders });
    // 'a' stayed warm; 'b' was evicted by 'c' and had to be classified again.
    expect(classifier.calls).toEqual(['user: a', 'user: b', 'user: c', 'user: b']);
  });

  it('falls back to passthrough when the classifier fails, says why, and does not cache the fallback', async () => {
    const failures: EnsembleError[] = [];
    const classifier = new ScriptedClassifier([
      new EnsembleError(ErrorCode.UpstreamError, 'routing_verdict failed (500): secret upstream detail'),
      { needs_orchestration: true, reason: 'multi-step' },
    ]);
    const router = createRouter({ classifier, classifierTimeoutMs: 1_000, onClassifierError: (error) => failures.push(error) });
    const fallback = await router.route({ request: request('plan a trip'), header: noHeaders });
    expect(fallback).toEqual({ path: 'passthrough', source: 'fallback', reason: 'classifier failed (upstream_error); answering directly' });
    expect(fallback.reason).not.toContain('secret');
    expect(failures.map((error) => error.code)).toEqual([ErrorCode.UpstreamError]);
    expect(await router.route({ request: request('plan a trip'), header: noHeaders })).toMatchObject({ source: 'classifier', path: 'orchestration' });
  });

  it('falls back when the classifier exceeds its deadline, even if it ignores the abort signal', async () => {
    const failures: EnsembleError[] = [];
    const classifier = new ScriptedClassifier(['hang', 'hang-ignoring-signal']);
    const router = createRouter({ classifier, classifierTimeoutMs: 20, onClassifierError: (error) => failures.push(error) });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      expect(await router.route({ request: request(`slow ${attempt}`), header: noHeaders })).toEqual({
        path: 'passthrough',
        source: 'fallback',
        reason: 'classifier timed out after 20 ms; answering directly',
      });
    }
    expect(classifier.signals.every((signal) => signal.aborted)).toBe(true);
    expect(failures.map((error) => error.code)).toEqual([ErrorCode.UpstreamTimeout, ErrorCode.UpstreamTimeout]);
  });

  it('stops and throws cancelled when the client goes away mid-classification', async () => {
    const classifier = new ScriptedClassifier(['hang']);
    const failures: EnsembleError[] = [];
    const router = createRouter({ classifier, classifierTimeoutMs: 60_000, onClassifierError: (error) => failures.push(error) });
    const client = new AbortController();
    const routing = router.route({ request: request('anything'), header: noHeaders, signal: client.signal });
    client.abort();
    await expect(routing).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    expect(classifier.signals[0]?.aborted).toBe(true);
    expect(failures).toHaveLength(0);
    await expect(router.route({ request: request('x'), header: noHeaders, signal: client.signal })).rejects.toMatchObject({ code: ErrorCode.Cancelled });
  });

  it('classifies every time when the cache is disabled', async () => {
    const verdict = { needs_orchestration: false, reason: 'simple' };
    const classifier = new ScriptedClassifier([verdict, verdict]);
    const router = createRouter({ classifier, classifierTimeoutMs: 1_000, cache: false });
    await router.route({ request: request('same'), header: noHeaders });
    expect(await router.route({ request: request('same'), header: noHeaders })).toMatchObject({ cached: false });
    expect(classifier.calls).toHaveLength(2);
  });

  describe('with a local first stage', () => {
    /** A local stage answering from a script, recording what it read. */
    function scriptedLocal(verdict: LocalRoutingVerdict): LocalRoutingClassifier & { seen: unknown[] } {
      const seen: unknown[] = [];
      return {
        seen,
        classify(messages) {
          seen.push(messages);
          return verdict;
        },
      };
    }

    it('returns its decision with source local and never calls the LLM classifier', async () => {
      const classifier = new ScriptedClassifier([]);
      const local = scriptedLocal({ path: 'orchestration', confidence: 0.97, reason: 'local model: multi-step (0.97)' });
      const router = createRouter({ local, classifier, classifierTimeoutMs: 1_000 });
      expect(await router.route({ request: request('research and compare'), header: noHeaders })).toEqual({
        path: 'orchestration',
        source: 'local',
        confidence: 0.97,
        reason: 'local model: multi-step (0.97)',
      });
      expect(local.seen).toEqual([[{ role: 'user', content: 'research and compare' }]]);
      expect(classifier.calls).toHaveLength(0);
    });

    it('asks the LLM classifier when the local stage abstains', async () => {
      const classifier = new ScriptedClassifier([{ needs_orchestration: true, reason: 'multi-step' }]);
      const router = createRouter({ local: scriptedLocal({ path: undefined, confidence: 0.6, reason: 'unsure' }), classifier, classifierTimeoutMs: 1_000 });
      expect(await router.route({ request: request('book it'), header: noHeaders })).toEqual({ path: 'orchestration', source: 'classifier', cached: false, reason: 'multi-step' });
      expect(classifier.calls).toEqual(['user: book it']);
    });

    it('comes after the rules and headers, and after a client that went away', async () => {
      const local = scriptedLocal({ path: 'orchestration', confidence: 1, reason: 'x' });
      const router = createRouter({ local, classifier: new ScriptedClassifier([]), classifierTimeoutMs: 1_000 });
      const header = (name: string) => (name === 'X-Routing-Mode' ? 'passthrough' : undefined);
      expect(await router.route({ request: request('research and compare'), header })).toMatchObject({ source: 'header', path: 'passthrough' });
      const gone = new AbortController();
      gone.abort();
      await expect(router.route({ request: request('x'), header: noHeaders, signal: gone.signal })).rejects.toMatchObject({ code: ErrorCode.Cancelled });
      expect(local.seen).toHaveLength(0);
    });

    it('decides without a model call what the rules, headers and local stage decide, and says when it cannot', () => {
      const classifier = new ScriptedClassifier([]);
      const verdicts: LocalRoutingVerdict[] = [
        { path: 'passthrough', confidence: 0.95, reason: 'local model: one reply (0.95)' },
        { path: undefined, confidence: 0.6, reason: 'unsure' },
      ];
      const local: LocalRoutingClassifier = { classify: () => verdicts.shift() ?? { path: undefined, confidence: undefined, reason: 'no script' } };
      const router = createRouter({ local, classifier, classifierTimeoutMs: 1_000 });
      const header = (name: string) => (name === 'X-Routing-Mode' ? 'orchestration' : undefined);
      expect(router.decideWithoutModel({ request: request('research'), header })).toMatchObject({ path: 'orchestration', source: 'header' });
      expect(router.decideWithoutModel({ request: request('hi'), header: noHeaders })).toEqual({ path: 'passthrough', source: 'local', confidence: 0.95, reason: 'local model: one reply (0.95)' });
      expect(router.decideWithoutModel({ request: request('book it'), header: noHeaders })).toBeUndefined();
      expect(() => router.decideWithoutModel({ request: request('hi'), header: () => 'bogus' })).toThrow(EnsembleError);
      expect(classifier.calls).toHaveLength(0);
    });

    it('with the shipped model: obvious requests skip the LLM classifier, others reach it', async () => {
      const classifier = new ScriptedClassifier([{ needs_orchestration: true, reason: 'depends on the conversation' }]);
      const router = createRouter({ local: createLocalRoutingClassifier({ threshold: 0.9 }), classifier, classifierTimeoutMs: 1_000 });
      expect(await router.route({ request: request('Thanks!'), header: noHeaders })).toMatchObject({ path: 'passthrough', source: 'local', confidence: 1 });
      expect(
        await router.route({ request: request('Deploy the latest build to production, then notify the team on Slack.'), header: noHeaders }),
      ).toMatchObject({ path: 'orchestration', source: 'local' });
      const followUp = await router.route({
        request: { model: 'm', messages: [{ role: 'user', content: 'Find flights to Rome' }, { role: 'assistant', content: 'Shall I book one?' }, { role: 'user', content: 'do it' }] },
        header: noHeaders,
      });
      expect(followUp).toMatchObject({ path: 'orchestration', source: 'classifier' });
      expect(classifier.calls).toHaveLength(1);
    });
  });
});
