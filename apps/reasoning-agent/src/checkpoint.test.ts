import type { Task } from '@a2a-js/sdk';
import { dataPart, textPart, userMessage } from '@ensemble/a2a';
import { EnsembleMetadataKey, OPENAI_MESSAGES_PART_KIND } from '@ensemble/openai-a2a';
import { describe, expect, it } from 'vitest';

import { CHECKPOINT_METADATA_KEY, type LoopCheckpoint, checkpointUpdate, readCheckpoint } from './checkpoint.js';
import { initialMessages } from './reasoning-loop.js';

const checkpoint: LoopCheckpoint = {
  version: 1,
  step: 2,
  messages: [
    { role: 'system', content: 'be good' },
    { role: 'user', content: 'search' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'web_search', arguments: '{"query":"x"}' } }] },
  ],
  pending: [{ id: 'a', name: 'web_search', arguments: '{"query":"x"}' }],
};

const taskWith = (metadata: Record<string, unknown> | undefined) => ({ metadata }) as unknown as Task;

describe('loop checkpoint', () => {
  it('round-trips through task metadata, and reads as absent when missing or cleared', () => {
    const update = checkpointUpdate({ taskId: 't', contextId: 'c' }, checkpoint);
    if (update.kind !== 'statusUpdate') throw new Error('expected a status update');
    expect(update.data.status?.message).toBeUndefined();
    expect(readCheckpoint(taskWith(update.data.metadata))).toEqual(checkpoint);
    expect(readCheckpoint(undefined)).toBeUndefined();
    expect(readCheckpoint(taskWith({ [CHECKPOINT_METADATA_KEY]: null }))).toBeUndefined();
  });

  it('reports an unreadable checkpoint instead of resuming from it', () => {
    expect(readCheckpoint(taskWith({ [CHECKPOINT_METADATA_KEY]: { ...checkpoint, pending: [] } }))).toEqual({ error: expect.stringContaining('pending') as string });
  });
});

describe('initialMessages', () => {
  const input = (parts: ReturnType<typeof textPart>[]) => {
    const message = userMessage({ parts });
    return { text: '', data: [], message, history: [] };
  };

  it('starts from the system prompt and a plain A2A text request, with data parts appended as context', () => {
    expect(initialMessages(input([textPart('Which region grew fastest?'), dataPart({ north: 12, south: 30 })]), 'SYS')).toEqual([
      { role: 'system', content: 'SYS' },
      { role: 'user', content: 'Which region grew fastest?\n\nContext (JSON):\n{"north":12,"south":30}' },
    ]);
  });

  it('takes the OpenAI conversation from the gateway as text turns, leaving out the caller’s own tool turns', () => {
    const conversation = {
      ...dataPart({
        messages: [
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'x', type: 'function', function: { name: 'theirs', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'x', content: 'their result' },
          { role: 'assistant', content: 'Bonjour' },
          { role: 'user', content: [{ type: 'text', text: 'What is 2+2?' }] },
        ],
      }),
      metadata: { [EnsembleMetadataKey.partKind]: OPENAI_MESSAGES_PART_KIND },
    };
    expect(initialMessages(input([textPart('What is 2+2?'), conversation]), 'SYS')).toEqual([
      { role: 'system', content: 'SYS' },
      { role: 'system', content: 'Answer in French.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Bonjour' },
      { role: 'user', content: 'What is 2+2?' },
    ]);
  });
});
