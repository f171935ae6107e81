import { ChatCompletionRequest } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { createSimLlmApp } from '../app.js';
import { toSimRequest } from '../sim-request.js';
import { arithmeticExpressions, timeQuestion, toolUse, unitConversions } from './tool-use.js';

const TOOLS = ['calculator', 'convert_units', 'current_time', 'web_search'].map((name) => ({
  type: 'function',
  function: { name, parameters: { type: 'object', properties: {} } },
}));

function request(messages: unknown[], extra: Record<string, unknown> = {}) {
  return toSimRequest(ChatCompletionRequest.parse({ model: 'gpt-4o-mini', messages, tools: TOOLS, ...extra }));
}

describe('tool-use behaviour: what it recognises', () => {
  it.each([
    ['What is 12 * (3 + 4)?', ['12 * (3 + 4)']],
    ['Compute 2^10 and 7×6', ['2^10', '7*6']],
    ['(15 / 4) please', ['(15 / 4)']],
    ['Is it (2 + 3) * 4?', ['(2 + 3) * 4']],
    ['What happened on 2025-03-14?', []],
    ['What is 3.5 times 2?', []],
  ])('arithmetic in %j → %j', (text, expected) => {
    expect(arithmeticExpressions(text)).toEqual(expected);
  });

  it.each([
    ['Convert 5 km to miles', [{ value: 5, from: 'km', to: 'mi' }]],
    ['100 degrees F in celsius, and 3 lb to kg', [{ value: 100, from: 'degF', to: 'degC' }, { value: 3, from: 'lb', to: 'kg' }]],
    ['I walked 5 km to work', []],
  ])('conversions in %j', (text, expected) => {
    expect(unitConversions(text)).toEqual(expected);
  });

  it.each([
    ['What time is it in Tokyo?', 'Asia/Tokyo'],
    ['what is the current time?', 'UTC'],
    ['Current time in America/Chicago', 'America/Chicago'],
    ['I spent some time in Paris', undefined],
  ])('time question %j → %j', (text, zone) => {
    expect(timeQuestion(text)).toBe(zone);
  });
});

describe('tool-use behaviour: replies', () => {
  it('calls every matching tool at once when the question needs several', () => {
    const sim = request([{ role: 'user', content: 'What is 12*7, and convert 5 km to miles?' }]);
    expect(toolUse.matches(sim)).toBe(true);
    expect(toolUse.reply(sim)).toEqual({
      toolCalls: [
        { name: 'calculator', arguments: { expression: '12*7' } },
        { name: 'convert_units', arguments: { value: 5, from: 'km', to: 'mi' } },
      ],
    });
  });

  it('answers from the tool results once they are in the conversation, and reports a failed tool', () => {
    const sim = request([
      { role: 'user', content: 'What is 12*7, and convert 5 km to miles?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'calculator', arguments: '{}' } },
          { id: 'b', type: 'function', function: { name: 'convert_units', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'a', content: JSON.stringify({ expression: '12 * 7', result: '84', value: 84, type: 'number' }) },
      { role: 'tool', tool_call_id: 'b', content: 'Cannot convert km to mi: the server is down' },
    ]);
    expect(toolUse.matches(sim)).toBe(true);
    const reply = toolUse.reply(sim);
    expect(reply.toolCalls).toBeUndefined();
    expect(reply.content).toContain('calculator gives 12 * 7 = 84.');
    expect(reply.content).toContain('The convert_units tool did not give a result: Cannot convert km to mi: the server is down');
  });

  it('only calls the tools still unanswered', () => {
    const sim = request([
      { role: 'user', content: 'What is 2+2 and what time is it in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'calculator', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'a', content: '{"expression":"2 + 2","result":"4"}' },
    ]);
    expect(toolUse.reply(sim)).toEqual({ toolCalls: [{ name: 'current_time', arguments: { timezone: 'Europe/Paris' } }] });
  });

  it('uses namespaced tool names and stays out when the tool is not offered, tools are forced off, or nothing matches', () => {
    const namespaced = toSimRequest(
      ChatCompletionRequest.parse({
        model: 'm',
        messages: [{ role: 'user', content: 'What is 6*7?' }],
        tools: [{ type: 'function', function: { name: 'ensemble-tools__calculator' } }],
      }),
    );
    expect(toolUse.reply(namespaced)).toEqual({ toolCalls: [{ name: 'ensemble-tools__calculator', arguments: { expression: '6*7' } }] });

    const notOffered = toSimRequest(
      ChatCompletionRequest.parse({ model: 'm', messages: [{ role: 'user', content: 'What is 6*7?' }], tools: [{ type: 'function', function: { name: 'web_search' } }] }),
    );
    expect(toolUse.matches(notOffered)).toBe(false);
    expect(toolUse.matches(request([{ role: 'user', content: 'What is 6*7?' }], { tool_choice: 'none' }))).toBe(false);
    expect(toolUse.matches(request([{ role: 'user', content: 'Tell me a story' }]))).toBe(false);
    expect(toolUse.matches(toSimRequest(ChatCompletionRequest.parse({ model: 'm', messages: [{ role: 'user', content: 'What is 6*7?' }] })))).toBe(false);
  });

  it('is in the default registry: a streamed request gets the tool call from sim-llm', async () => {
    const { app } = createSimLlmApp();
    const response = await app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is 6*7?' }], tools: TOOLS, tool_choice: 'auto' }),
    });
    const body = (await response.json()) as { choices: { finish_reason: string; message: { tool_calls: { function: { name: string; arguments: string } }[] } }[] };
    expect(body.choices[0]?.finish_reason).toBe('tool_calls');
    expect(body.choices[0]?.message.tool_calls.map((call) => [call.function.name, JSON.parse(call.function.arguments) as unknown])).toEqual([
      ['calculator', { expression: '6*7' }],
    ]);
  });
});

describe('arithmeticExpressions on a quoted request', () => {
  it('asks for each distinct expression once, however often the prompt repeats it', () => {
    expect(arithmeticExpressions('Compute 1234 * 5678. Context: the user asked "compute 1234 * 5678" and 2 + 3.')).toEqual(['1234 * 5678', '2 + 3']);
  });
});
