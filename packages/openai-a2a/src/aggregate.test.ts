import { type Message, Role, type StreamResponse, type Task, TaskState } from '@a2a-js/sdk';
import { toOpenAIErrorBody } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { aggregateCompletion } from './aggregate.js';
import { createChunkTranslator } from './chunks.js';
import { EnsembleMetadataKey } from './metadata.js';
import { textPart } from '@ensemble/a2a/parts';

const OPTIONS = { id: 'chatcmpl-agg', model: 'ensemble', created: 1_700_000_000, agent: 'orchestrator' };
const IDS = { taskId: 'task-7', contextId: 'ctx-7' };

function agentMessage(text: string): Message {
  return { messageId: `m-${text}`, ...IDS, role: Role.ROLE_AGENT, parts: [textPart(text)], metadata: undefined, extensions: [], referenceTaskIds: [] };
}

function status(state: TaskState, text?: string, metadata?: Record<string, unknown>): StreamResponse {
  return { payload: { $case: 'statusUpdate', value: { ...IDS, status: { state, message: text === undefined ? undefined : agentMessage(text), timestamp: undefined }, metadata } } };
}

function chunkOf(artifactId: string, text: string, append = false): StreamResponse {
  const artifact = { artifactId, name: '', description: '', parts: [textPart(text)], metadata: undefined, extensions: [] };
  return { payload: { $case: 'artifactUpdate', value: { ...IDS, artifact, append, lastChunk: false, metadata: undefined } } };
}

function finalTask(state: TaskState, text: string | undefined, answer: string | undefined): Task {
  return {
    id: IDS.taskId,
    contextId: IDS.contextId,
    status: { state, message: text === undefined ? undefined : agentMessage(text), timestamp: undefined },
    artifacts: answer === undefined ? [] : [{ artifactId: 'answer', name: 'answer', description: '', parts: [textPart(answer)], metadata: undefined, extensions: [] }],
    history: [],
    metadata: { [EnsembleMetadataKey.usage]: { prompt_tokens: 3, completion_tokens: 4 } },
  };
}

describe('aggregateCompletion', () => {
  const streamed: StreamResponse[] = [
    status(TaskState.TASK_STATE_SUBMITTED),
    status(TaskState.TASK_STATE_WORKING, 'planning', { [EnsembleMetadataKey.agent]: 'planner' }),
    chunkOf('a', 'Paris is '),
    chunkOf('a', 'the capital.', true),
    status(TaskState.TASK_STATE_COMPLETED, undefined, { [EnsembleMetadataKey.usage]: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 } }),
  ];

  it('folds a stream into one chat.completion with reasoning events and usage', () => {
    const { completion, error } = aggregateCompletion(streamed, OPTIONS);
    expect(error).toBeUndefined();
    expect(completion).toMatchObject({
      id: 'chatcmpl-agg',
      object: 'chat.completion',
      model: 'ensemble',
      created: 1_700_000_000,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Paris is the capital.', refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 },
    });
    const message = completion.choices[0]?.message;
    expect(message?.reasoning_events.map((event) => [event.type, event.agent, event.message])).toEqual([
      ['status', 'orchestrator', 'submitted'],
      ['status', 'planner', 'planning'],
    ]);
    expect(message?.reasoning_content).toBe('[orchestrator] submitted\n[planner] planning\n');
    expect(completion).not.toHaveProperty('reasoning_events');
  });

  it('puts the reasoning text under the configured field, or leaves it out', () => {
    const reasoning = aggregateCompletion(streamed, { ...OPTIONS, reasoningField: 'reasoning' }).completion.choices[0]?.message;
    expect(reasoning?.reasoning).toBe('[orchestrator] submitted\n[planner] planning\n');
    expect(reasoning).not.toHaveProperty('reasoning_content');
    const none = aggregateCompletion(streamed, { ...OPTIONS, reasoningField: 'none' }).completion.choices[0]?.message;
    expect(none).not.toHaveProperty('reasoning_content');
    expect(none).not.toHaveProperty('reasoning');
    expect(none?.reasoning_events).toHaveLength(2);
  });

  it('agrees with what the streaming path sends', () => {
    const translator = createChunkTranslator(OPTIONS);
    const chunks = [...streamed.flatMap((event) => translator.translate(event)), ...translator.finish()];
    const streamedText = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    const streamedEvents = chunks.flatMap((chunk) => (chunk.choices[0]?.delta.reasoning_event === undefined ? [] : [chunk.choices[0].delta.reasoning_event]));
    const streamedReasoning = chunks.map((chunk) => chunk.choices[0]?.delta.reasoning_content ?? '').join('');
    const { completion } = aggregateCompletion(streamed, OPTIONS);
    expect(completion.choices[0]?.message.content).toBe(streamedText);
    expect(completion.choices[0]?.message.reasoning_events).toEqual(streamedEvents);
    expect(completion.choices[0]?.message.reasoning_content).toBe(streamedReasoning);
  });

  it('omits usage when no producer reported it', () => {
    const { completion } = aggregateCompletion([chunkOf('a', 'x'), status(TaskState.TASK_STATE_COMPLETED)], OPTIONS);
    expect(completion.usage).toBeUndefined();
  });

  it.each([
    // Completed: the status text is a note beside the artifact answer, shown as reasoning.
    { state: TaskState.TASK_STATE_COMPLETED, content: 'The answer', refusal: null, events: ['status'], error: null, status: null },
    { state: TaskState.TASK_STATE_AUTH_REQUIRED, content: 'The answer\n\nOK to send the email?', refusal: null, events: ['approval_required'], error: null, status: null },
    { state: TaskState.TASK_STATE_INPUT_REQUIRED, content: 'The answer\n\nOK to send the email?', refusal: null, events: ['approval_required'], error: null, status: null },
    { state: TaskState.TASK_STATE_REJECTED, content: 'The answer', refusal: 'OK to send the email?', events: ['status'], error: null, status: null },
    {
      state: TaskState.TASK_STATE_FAILED,
      content: 'The answer\n\nError: Agent "orchestrator" failed: OK to send the email?',
      refusal: null,
      events: ['error'],
      error: 'agent_failed',
      status: 502,
    },
    {
      state: TaskState.TASK_STATE_CANCELED,
      content: 'The answer\n\nError: The task was canceled: OK to send the email?',
      refusal: null,
      events: ['error'],
      error: 'task_canceled',
      status: 499,
    },
    {
      state: TaskState.TASK_STATE_WORKING,
      content: 'The answer\n\nError: Agent "orchestrator" stopped streaming before the task finished',
      refusal: null,
      events: ['status', 'error'],
      error: 'stream_incomplete',
      status: 502,
    },
  ])('a final task in state $state', ({ state, content, refusal, events, error, status: httpStatus }) => {
    const result = aggregateCompletion(finalTask(state, 'OK to send the email?', 'The answer'), OPTIONS);
    const choice = result.completion.choices[0];
    expect(choice?.message.content).toBe(content);
    expect(choice?.message.refusal).toBe(refusal);
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.message.reasoning_events.map((event) => event.type)).toEqual(events);
    expect(result.completion.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(result.error?.wireCode ?? null).toBe(error);
    expect(result.error?.status ?? null).toBe(httpStatus);
    expect(result.result.taskId).toBe('task-7');
  });

  it('a rejection without any answer has null content, as OpenAI refusals do', () => {
    const { completion, error } = aggregateCompletion(finalTask(TaskState.TASK_STATE_REJECTED, 'Not allowed.', undefined), OPTIONS);
    expect(completion.choices[0]?.message).toEqual({
      role: 'assistant',
      content: null,
      refusal: 'Not allowed.',
      reasoning_content: '[orchestrator] Not allowed.\n',
      reasoning_events: [{ type: 'status', agent: 'orchestrator', sequence: 0, message: 'Not allowed.', metadata: { state: 'rejected' } }],
    });
    expect(error).toBeUndefined();
  });

  it('an agent message is a complete answer', () => {
    const { completion, error, result } = aggregateCompletion(agentMessage('Hello from an agent'), OPTIONS);
    expect(completion.choices[0]?.message.content).toBe('Hello from an agent');
    expect(error).toBeUndefined();
    expect(result.contextId).toBe('ctx-7');
  });

  it('a failed task yields an error the edge can render as an OpenAI error body', () => {
    const { error } = aggregateCompletion([status(TaskState.TASK_STATE_FAILED, 'quota exhausted', { [EnsembleMetadataKey.agent]: 'rag' })], OPTIONS);
    expect(error).toBeDefined();
    expect(toOpenAIErrorBody(error!)).toEqual({
      error: { message: 'Agent "rag" failed: quota exhausted', type: 'upstream_error', param: null, code: 'agent_failed' },
    });
  });

  it('no events at all is an incomplete stream, not an empty success', () => {
    const { error, completion } = aggregateCompletion([], OPTIONS);
    expect(error?.wireCode).toBe('stream_incomplete');
    expect(completion.choices[0]?.message.content).toContain('stopped streaming');
  });
});
