import { TaskState } from '@a2a-js/sdk';
import { EnsembleMetadataKey, createChunkTranslator } from '@ensemble/openai-a2a';
import { describe, expect, it } from 'vitest';

import { outcomeFromResult, parseToolCall, reasoningStatusUpdate, thinkingEvent, toolCallEvent, toolResultEvent, truncate } from './events.js';

describe('parseToolCall', () => {
  it('reads a JSON object, treats empty arguments as {}, and explains anything else', () => {
    expect(parseToolCall({ id: 'a', name: 'calculator', arguments: '{"expression":"1+1"}' })).toMatchObject({ args: { expression: '1+1' } });
    expect(parseToolCall({ id: 'a', name: 'current_time', arguments: '  ' })).toMatchObject({ args: {} });
    expect(parseToolCall({ id: 'a', name: 'calculator', arguments: '{"expression":' }).argumentError).toMatch(/^The arguments for "calculator" are not valid JSON \(/);
    expect(parseToolCall({ id: 'a', name: 'calculator', arguments: '[1]' }).argumentError).toBe(
      'The arguments for "calculator" must be a JSON object matching the tool\'s schema, not an array.',
    );
  });
});

describe('reasoning events', () => {
  const call = parseToolCall({ id: 'call_1', name: 'calculator', arguments: '{"expression":"6*7"}' });

  it('describe a step, a call with its arguments, and a result or failure', () => {
    expect(thinkingEvent(2, 8, 'asking the model')).toEqual({ type: 'thinking', message: 'Step 2 of at most 8: asking the model', metadata: { reasoning_step: 2, max_steps: 8 } });
    expect(toolCallEvent(call, 1, { server: 'ensemble-tools', needsApproval: false })).toEqual({
      type: 'tool_call',
      message: 'Calling calculator({"expression":"6*7"})',
      metadata: { reasoning_step: 1, call_id: 'call_1', tool: 'calculator', arguments: { expression: '6*7' }, server: 'ensemble-tools' },
    });
    const ok = outcomeFromResult(call, { tool: 'calculator', server: 'ensemble-tools', isError: false, text: '{"result":"42"}', content: [], durationMs: 3 });
    expect(toolResultEvent(ok, 1)).toMatchObject({ type: 'tool_result', message: 'calculator returned: {"result":"42"}', metadata: { is_error: false, duration_ms: 3 } });
    const failed = outcomeFromResult(call, { tool: 'calculator', isError: true, errorKind: 'timeout', text: '', content: [], durationMs: 10 });
    expect(failed.text).toBe('The calculator tool failed without a message.');
    expect(toolResultEvent(failed, 1)).toMatchObject({ message: 'calculator failed (timeout): The calculator tool failed without a message.', metadata: { is_error: true, error_kind: 'timeout' } });
  });

  it('truncate says how much was cut', () => {
    expect(truncate('abcdef', 3)).toBe('abc… (3 more characters)');
    expect(truncate('abc', 3)).toBe('abc');
  });

  it('travel as a working status update the OpenAI translator turns into a reasoning_event chunk', () => {
    const update = reasoningStatusUpdate({ taskId: 't1', contextId: 'c1' }, 'reasoning-agent', toolCallEvent(call, 1, { needsApproval: true }), {
      prompt_tokens: 5,
      completion_tokens: 2,
      total_tokens: 7,
    });
    if (update.kind !== 'statusUpdate') throw new Error('expected a status update');
    expect(update.data.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    // Not on the event's own metadata: the SDK would merge that into the stored task.
    expect(update.data.metadata).toBeUndefined();
    expect(update.data.status?.message?.metadata?.[EnsembleMetadataKey.agent]).toBe('reasoning-agent');

    const translator = createChunkTranslator({ id: 'x', model: 'm', created: 0 });
    const [chunk] = translator.translate({ kind: 'status', event: update.data });
    expect(chunk?.choices[0]?.delta.reasoning_event).toMatchObject({ type: 'tool_call', agent: 'reasoning-agent', metadata: { tool: 'calculator', requires_approval: true } });
    expect(translator.result.usage).toMatchObject({ total_tokens: 7 });
  });
});
