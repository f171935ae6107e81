import { ErrorCode } from '@ensemble/protocol';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';

import { CLASSIFIER_SCHEMA_NAME, LlmRoutingClassifier } from './classifier.js';

interface RecordedCall {
  url: string;
  body: Record<string, unknown>;
}

/**
 * An `openai` SDK client whose `fetch` answers from a script: the real SDK builds the request and parses
 * the reply (structured output included), without a server. Integration tests use sim-llm instead.
 */
function scriptedClient(replies: Array<{ status?: number; body: unknown }>) {
  const calls: RecordedCall[] = [];
  const client = new OpenAI({
    apiKey: 'test-key',
    baseURL: 'http://classifier.invalid/v1',
    maxRetries: 0,
    fetch: async (input, init) => {
      calls.push({ url: input instanceof Request ? input.url : input.toString(), body: JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as Record<string, unknown> });
      const reply = replies.shift();
      if (reply === undefined) throw new Error('no scripted reply left');
      return new Response(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body), {
        status: reply.status ?? 200,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
  return { client, calls };
}

function completion(content: string) {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content, refusal: null } }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

const signal = new AbortController().signal;

describe('LlmRoutingClassifier', () => {
  it('sends a routing_verdict structured-output request with the conversation after "Conversation:"', async () => {
    const { client, calls } = scriptedClient([{ body: completion('{"needs_orchestration":true,"reason":"needs research"}') }]);
    const classifier = new LlmRoutingClassifier({ client, model: 'gpt-4o-mini', temperature: 0 });
    const verdict = await classifier.classify('user: compare A and B', { signal });
    expect(verdict).toEqual({ needs_orchestration: true, reason: 'needs research', usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });

    const body = calls[0]!.body;
    expect(calls[0]!.url).toBe('http://classifier.invalid/v1/chat/completions');
    expect(body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0, response_format: { type: 'json_schema', json_schema: { name: CLASSIFIER_SCHEMA_NAME } } });
    const messages = body['messages'] as Array<{ role: string; content: string }>;
    expect(messages[0]?.role).toBe('system');
    expect(messages[1]?.content.split('\n')).toEqual(['Classify this conversation.', '', 'Conversation:', 'user: compare A and B']);
  });

  it('omits temperature when none is configured', async () => {
    const { client, calls } = scriptedClient([{ body: completion('{"needs_orchestration":false,"reason":"simple"}') }]);
    await new LlmRoutingClassifier({ client, model: 'm' }).classify('user: hi', { signal });
    expect(calls[0]!.body).not.toHaveProperty('temperature');
  });

  it('sends only the tail of a long conversation', async () => {
    const { client, calls } = scriptedClient([{ body: completion('{"needs_orchestration":false,"reason":"simple"}') }]);
    await new LlmRoutingClassifier({ client, model: 'm', maxConversationChars: 100 }).classify(`user: ${'old '.repeat(500)}\nuser: latest question`, { signal });
    const content = (calls[0]!.body['messages'] as Array<{ content: string }>)[1]!.content;
    const conversation = content.slice(content.indexOf('Conversation:\n') + 'Conversation:\n'.length);
    expect(conversation.length).toBe(100);
    expect(conversation.startsWith('[earlier conversation omitted]')).toBe(true);
    expect(conversation.endsWith('user: latest question')).toBe(true);
  });

  it('rejects output that is not JSON or does not match the verdict schema', async () => {
    const { client } = scriptedClient([{ body: completion('I think it is simple') }, { body: completion('{"needs_orchestration":"yes"}') }]);
    const classifier = new LlmRoutingClassifier({ client, model: 'm' });
    await expect(classifier.classify('user: hi', { signal })).rejects.toMatchObject({ code: ErrorCode.UpstreamError });
    await expect(classifier.classify('user: hi', { signal })).rejects.toMatchObject({ code: ErrorCode.UpstreamError });
  });

  it('surfaces upstream HTTP errors as EnsembleErrors with the upstream status', async () => {
    const { client } = scriptedClient([{ status: 429, body: { error: { message: 'slow down', type: 'rate_limit_error', param: null, code: null } } }]);
    await expect(new LlmRoutingClassifier({ client, model: 'm' }).classify('user: hi', { signal })).rejects.toMatchObject({
      code: ErrorCode.RateLimited,
      status: 429,
    });
  });
});
