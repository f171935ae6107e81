import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';

import { TurnAccumulator, addUsage } from './turn.js';

type Delta = ChatCompletionChunk.Choice.Delta;

function chunk(delta: Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk {
  return { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] };
}

describe('TurnAccumulator', () => {
  it('hands answer text back as it arrives when the model answers directly', () => {
    const turn = new TurnAccumulator('call_x');
    expect(turn.add(chunk({ role: 'assistant', content: '' }))).toBe('');
    expect(turn.add(chunk({ content: 'The answer ' }))).toBe('The answer ');
    expect(turn.add(chunk({ content: 'is 42.' }, 'stop'))).toBe('is 42.');
    expect(turn.add({ ...chunk({}), choices: [], usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } })).toBe('');
    expect(turn.result()).toEqual({ answer: 'The answer is 42.', thinking: '', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } });
  });

  it('merges streamed tool call fragments by index, in index order, and keeps text after a call as thinking', () => {
    const turn = new TurnAccumulator('call_x');
    turn.add(chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'convert_units', arguments: '' } }] }));
    turn.add(chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'calcu', arguments: '{"expr' } }] }));
    turn.add(chunk({ tool_calls: [{ index: 0, function: { name: 'lator', arguments: 'ession":"1+1"}' } }] }));
    expect(turn.add(chunk({ content: 'I need two tools.' }))).toBe('');
    turn.add(chunk({ tool_calls: [{ index: 1, function: { arguments: '{"value":1,"from":"km","to":"mi"}' } }] }, 'tool_calls'));
    expect(turn.result()).toMatchObject({
      answer: '',
      thinking: 'I need two tools.',
      finishReason: 'tool_calls',
      toolCalls: [
        { id: 'a', name: 'calculator', arguments: '{"expression":"1+1"}' },
        { id: 'b', name: 'convert_units', arguments: '{"value":1,"from":"km","to":"mi"}' },
      ],
    });
  });

  it('streams text that precedes a tool call, and invents ids the provider left out', () => {
    const turn = new TurnAccumulator('call_x_3');
    expect(turn.add(chunk({ content: 'Let me check. ' }))).toBe('Let me check. ');
    turn.add(chunk({ tool_calls: [{ index: 0, function: { name: 'current_time', arguments: '{}' } }] }));
    expect(turn.result()).toMatchObject({ answer: 'Let me check. ', toolCalls: [{ id: 'call_x_3_0', name: 'current_time' }] });
  });
});

describe('addUsage', () => {
  it('adds running totals, either side may be missing', () => {
    const one = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    expect(addUsage(undefined, undefined)).toBeUndefined();
    expect(addUsage(undefined, one)).toEqual(one);
    expect(addUsage(one, undefined)).toEqual(one);
    expect(addUsage(one, one)).toEqual({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
  });
});
