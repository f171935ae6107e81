import { ChatCompletionRequest, messageText } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { A2A_ENVELOPE_ALLOWANCE_BYTES, maxOrchestrationMessageBytes, orchestrationMessageBytes } from './limits.js';
import { chatRequestToA2AMessage } from './request.js';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** The planning agent's message as the orchestrator builds it: the request as text and in the data part, plus the text turns. */
function plannerMessage(request: ChatCompletionRequest, prompt: string) {
  const conversation = request.messages.flatMap((message) => {
    const content = messageText(message.content);
    return message.role === 'tool' || content === '' ? [] : [{ role: message.role, content }];
  });
  return { parts: [{ text: prompt }, { data: { planningRequest: { request: prompt, conversation } } }] };
}

describe('orchestrationMessageBytes', () => {
  const long = 'The quick brown fox. '.repeat(2_000);
  const cases = {
    'one long user turn': [{ role: 'user', content: long }],
    'escapes that grow on the wire': [{ role: 'user', content: '"\\\u0001\n'.repeat(5_000) }],
    'multi-byte text': [{ role: 'user', content: 'é漢🙂'.repeat(3_000) }],
    'a long history and a short question': [
      { role: 'system', content: long },
      { role: 'user', content: long },
      { role: 'assistant', content: long },
      { role: 'user', content: [{ type: 'text', text: 'and now?' }, { type: 'text', text: long }] },
    ],
  };

  it.each(Object.entries(cases))('covers both A2A messages built from %s', (_name, messages) => {
    const request = ChatCompletionRequest.parse({ model: 'ensemble', temperature: 0.3, messages });
    // The conversation itself must be counted in full: only ids and framing (well under 1 KiB here) may be left to the allowance.
    const measured = orchestrationMessageBytes(request) + 1_024;
    const toOrchestrator = chatRequestToA2AMessage(request, { metadata: { 'ensemble.principal': 'p'.repeat(64) } });
    expect(bytes(toOrchestrator)).toBeLessThanOrEqual(measured);
    const content = toOrchestrator.parts.find((part) => part.content?.$case === 'text')?.content;
    const prompt: unknown = content?.value;
    expect(bytes(plannerMessage(request, typeof prompt === 'string' ? prompt : ''))).toBeLessThanOrEqual(measured);
  });

  it('leaves the envelope allowance out of the agents’ limit', () => {
    expect(maxOrchestrationMessageBytes(4 * 1024 * 1024)).toBe(4 * 1024 * 1024 - A2A_ENVELOPE_ALLOWANCE_BYTES);
    expect(maxOrchestrationMessageBytes(1_000)).toBe(0);
  });
});
