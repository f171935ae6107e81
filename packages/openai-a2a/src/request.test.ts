import { Role } from '@a2a-js/sdk';
import { ChatCompletionRequest } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { EnsembleMetadataKey, OPENAI_MESSAGES_PART_KIND } from './metadata.js';
import { dataPart, textPart } from '@ensemble/a2a/parts';
import { chatRequestToA2AMessage, readChatConversation } from './request.js';

const conversation = ChatCompletionRequest.parse({
  model: 'ensemble-auto',
  temperature: 0.2,
  max_tokens: 300,
  stream: true,
  stream_options: { include_usage: true },
  tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
  provider_extra: { keep: 'me' },
  messages: [
    { role: 'system', content: 'Be terse.' },
    { role: 'user', name: 'ada', content: 'What is the weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '18C, sunny' },
    { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }, { type: 'image_url', image_url: { url: 'https://example.test/map.png' } }] },
  ],
});

describe('chatRequestToA2AMessage', () => {
  it('builds a user message in the session context with a fresh id', () => {
    const first = chatRequestToA2AMessage(conversation, { sessionId: 'sess-42' });
    const second = chatRequestToA2AMessage(conversation, { sessionId: 'sess-42' });
    expect(first.role).toBe(Role.ROLE_USER);
    expect(first.contextId).toBe('sess-42');
    expect(first.taskId).toBe('');
    expect(first.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.messageId).not.toBe(first.messageId);
    expect(first.extensions).toEqual([]);
    expect(first.referenceTaskIds).toEqual([]);
  });

  it('leaves the context unset without a session and honours explicit ids', () => {
    const message = chatRequestToA2AMessage(conversation, { messageId: 'm-1', taskId: 'task-9' });
    expect(message.contextId).toBe('');
    expect(message.messageId).toBe('m-1');
    expect(message.taskId).toBe('task-9');
  });

  it('carries the last user turn as text and the whole conversation as data', () => {
    const message = chatRequestToA2AMessage(conversation);
    expect(message.parts).toHaveLength(2);
    expect(message.parts[0]?.content).toEqual({ $case: 'text', value: 'And tomorrow?' });
    const data = message.parts[1];
    expect(data?.metadata).toEqual({ [EnsembleMetadataKey.partKind]: OPENAI_MESSAGES_PART_KIND });
    expect(data?.mediaType).toBe('application/json');
    expect(data?.content).toEqual({ $case: 'data', value: { messages: conversation.messages } });
  });

  it('puts every request option except the transport fields into metadata', () => {
    const message = chatRequestToA2AMessage(conversation, { metadata: { [EnsembleMetadataKey.agent]: 'gateway' } });
    expect(message.metadata).toEqual({
      [EnsembleMetadataKey.openaiRequest]: {
        model: 'ensemble-auto',
        temperature: 0.2,
        max_tokens: 300,
        tools: conversation.tools,
        provider_extra: { keep: 'me' },
      },
      [EnsembleMetadataKey.agent]: 'gateway',
    });
  });

  it.each([
    {
      name: 'a tool result after the last user turn',
      messages: [
        { role: 'user', content: 'look it up' },
        { role: 'tool', tool_call_id: 'c', content: 'found' },
      ],
      text: 'look it up',
    },
    { name: 'no user turn at all', messages: [{ role: 'system', content: 'system only' }], text: 'system only' },
    { name: 'an empty user turn', messages: [{ role: 'user', content: '' }], text: undefined },
  ])('picks the prompt text with $name', ({ messages, text }) => {
    const message = chatRequestToA2AMessage(ChatCompletionRequest.parse({ model: 'm', messages }));
    const textParts = message.parts.filter((part) => part.content?.$case === 'text');
    expect(textParts.map((part): unknown => part.content?.value)).toEqual(text === undefined ? [] : [text]);
    expect(message.parts.some((part) => part.content?.$case === 'data')).toBe(true);
  });
});

describe('readChatConversation', () => {
  it('round-trips the conversation and the options', () => {
    const { messages, options } = readChatConversation(chatRequestToA2AMessage(conversation));
    expect(messages).toEqual(conversation.messages);
    expect(options['model']).toBe('ensemble-auto');
    expect(options['temperature']).toBe(0.2);
  });

  it('turns a plain A2A message into one user turn', () => {
    const message = { ...chatRequestToA2AMessage(conversation), metadata: undefined, parts: [textPart('hello'), textPart('world')] };
    expect(readChatConversation(message)).toEqual({ messages: [{ role: 'user', content: 'hello\nworld' }], options: {} });
  });

  it('ignores a conversation part that does not validate', () => {
    const bogus = dataPart({ messages: [{ role: 'wizard', content: 'x' }] }, { [EnsembleMetadataKey.partKind]: OPENAI_MESSAGES_PART_KIND });
    const message = { ...chatRequestToA2AMessage(conversation), parts: [textPart('fallback'), bogus] };
    expect(readChatConversation(message).messages).toEqual([{ role: 'user', content: 'fallback' }]);
  });
});

describe('readChatConversation: well-formed text', () => {
  it('replaces lone surrogates (valid JSON escapes, invalid Unicode) so stores and parsers downstream take the text', () => {
    const request = ChatCompletionRequest.parse(JSON.parse('{"model":"m","messages":[{"role":"user","content":"a\\ud800b"},{"role":"user","content":[{"type":"text","text":"\\udc00 ok \\ud83d\\ude00"}]}]}'));
    const { messages } = readChatConversation(chatRequestToA2AMessage(request));
    expect(messages[0]?.content).toBe('a\ufffdb');
    expect(messages[1]?.content).toEqual([{ type: 'text', text: '\ufffd ok 😀' }]);
    const plain = { ...chatRequestToA2AMessage(request), metadata: undefined, parts: [textPart('x\ud800')] };
    expect(readChatConversation(plain).messages).toEqual([{ role: 'user', content: 'x\ufffd' }]);
  });
});
