import { ErrorCode } from '@ensemble/protocol';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { structuredCompletion } from './llm-client.js';

/** An `openai` SDK client whose `fetch` answers every call with `body` (the real SDK parses it). */
function clientAnswering(body: unknown): OpenAI {
  return new OpenAI({
    apiKey: 'test-key',
    baseURL: 'http://llm.invalid/v1',
    maxRetries: 0,
    fetch: () => Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })),
  });
}

function completion(content: string, finishReason = 'stop') {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, finish_reason: finishReason, message: { role: 'assistant', content, refusal: null } }],
    usage: { prompt_tokens: 21, completion_tokens: 8, total_tokens: 29 },
  };
}

const Answer = z.object({ value: z.number() });
const request = { model: 'm', messages: [{ role: 'user' as const, content: 'q' }], schema: Answer, schemaName: 'answer' };

describe('structuredCompletion', () => {
  it('parses the answer and reports the call’s usage', async () => {
    const usages: unknown[] = [];
    const parsed = await structuredCompletion(clientAnswering(completion('{"value":4}')), { ...request, onUsage: (usage) => usages.push(usage) });
    expect(parsed).toEqual({ value: 4 });
    expect(usages).toEqual([{ prompt_tokens: 21, completion_tokens: 8, total_tokens: 29 }]);
  });

  it.each([
    ['not JSON', completion('{"value":'), SyntaxError],
    ['JSON that fails the schema', completion('{"value":"four"}'), z.ZodError],
  ])('reports the usage of an answer that is %s, then fails with the parse error as cause', async (_name, body, causeType) => {
    const usages: unknown[] = [];
    const failure = await structuredCompletion(clientAnswering(body), { ...request, onUsage: (usage) => usages.push(usage) }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: ErrorCode.UpstreamError });
    expect((failure as { cause: unknown }).cause).toBeInstanceOf(causeType);
    expect(usages).toHaveLength(1);
  });

  it('fails a cut-off answer (finish_reason length) as a model error', async () => {
    const failure = await structuredCompletion(clientAnswering(completion('{"value":4}', 'length')), request).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: ErrorCode.UpstreamError });
    expect(String((failure as Error).message)).toContain('did not match the schema');
  });
});
