import { createA2AClient } from '@ensemble/a2a/client';
import { createAgentService } from '@ensemble/a2a/server';
import { ChatCompletionRequest } from '@ensemble/protocol';
import { createLogger } from '@ensemble/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { aggregateCompletion } from './aggregate.js';
import { type EnsembleChatCompletionChunk, createChunkTranslator, reasoningEventOf } from './chunks.js';
import { EnsembleMetadataKey } from './metadata.js';
import { chatRequestToA2AMessage, readChatConversation } from './request.js';

/**
 * The translation against a real A2A agent over HTTP (the agent-service kit and the A2A client): an
 * OpenAI request goes in as an A2A message, the agent reads the conversation back, and its stream
 * comes out as OpenAI chunks.
 */
const logger = createLogger({ service: 'openai-a2a-test', level: 'silent' });
const service = createAgentService({
  logger,
  card: { name: 'conversation-echo', description: 'Reports what it received', skills: [{ id: 'echo', name: 'Echo', description: 'echo' }] },
  executor: async function* (input, ctx) {
    const { messages, options } = readChatConversation(input.message);
    // As an agent that called an LLM reports it: the kit puts the turn's total on the final status.
    ctx.reportUsage({ prompt_tokens: 12, completion_tokens: 5 });
    ctx.reportUsage({ prompt_tokens: 3, completion_tokens: 1 });
    yield `turns=${messages.length};`;
    yield `model=${String(options['model'])};`;
    yield `roles=${messages.map((message) => message.role).join(',')}`;
    return undefined;
  },
});
let url: string;

beforeAll(async () => {
  url = (await service.start({ host: '127.0.0.1', port: 0 })).url;
});
afterAll(() => service.stop(0));

const request = ChatCompletionRequest.parse({
  model: 'ensemble-auto',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'Echo this conversation' },
  ],
});

describe('OpenAI <-> A2A against a real agent', () => {
  it('streams the agent answer as chunks and aggregates the same answer', async () => {
    const client = await createA2AClient({ url, logger, retry: false, breaker: false });
    const message = chatRequestToA2AMessage(request, { sessionId: 'session-1', metadata: { [EnsembleMetadataKey.agent]: 'gateway' } });
    const translator = createChunkTranslator({ id: 'chatcmpl-1', model: 'ensemble-auto', created: 1, agent: client.agent, includeUsage: true });
    const chunks: EnsembleChatCompletionChunk[] = [];
    const events = [];
    for await (const event of client.stream(message)) {
      events.push(event);
      chunks.push(...translator.translate(event));
    }
    chunks.push(...translator.finish());

    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('turns=4;model=ensemble-auto;roles=system,user,assistant,user');
    expect(chunks.some((chunk) => reasoningEventOf(chunk)?.agent === 'conversation-echo')).toBe(true);
    expect(translator.result).toMatchObject({ state: 'completed', finishReason: 'stop', contextId: 'session-1', error: undefined });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 15, completion_tokens: 6, total_tokens: 21 } });

    const { completion, error } = aggregateCompletion(events, { id: 'chatcmpl-1', model: 'ensemble-auto', created: 1, agent: client.agent });
    expect(error).toBeUndefined();
    expect(completion.choices[0]?.message.content).toBe(text);
    expect(completion.usage).toEqual({ prompt_tokens: 15, completion_tokens: 6, total_tokens: 21 });
  });
});
