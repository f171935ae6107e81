import { TaskState } from '@a2a-js/sdk';
import { agentMessage, dataPart, partsData, partsText, textPart } from '@ensemble/a2a';
import { type A2AStreamEvent } from '@ensemble/a2a/client';
import { EnsembleMetadataKey } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { AgentCallCollector } from './agent-call.js';

const TASK = 'task-1';
const CONTEXT = 'ctx-1';

function status(state: TaskState, text?: string, data?: Record<string, unknown>, metadata?: Record<string, unknown>): A2AStreamEvent {
  const message = text === undefined && data === undefined ? undefined : agentMessage({ text, data, taskId: TASK, contextId: CONTEXT });
  return {
    kind: 'status',
    taskId: TASK,
    contextId: CONTEXT,
    state,
    message,
    text: partsText(message?.parts),
    data: partsData(message?.parts),
    final: state !== TaskState.TASK_STATE_WORKING,
    event: { taskId: TASK, contextId: CONTEXT, status: { state, message, timestamp: undefined }, metadata },
  };
}

function artifact(id: string, parts: { text?: string; data?: Record<string, unknown> }, append = false): A2AStreamEvent {
  const artifactParts = [...(parts.text === undefined ? [] : [textPart(parts.text)]), ...(parts.data === undefined ? [] : [dataPart(parts.data)])];
  const value = { artifactId: id, name: 'response', description: '', parts: artifactParts, metadata: undefined, extensions: [] };
  return {
    kind: 'artifact',
    taskId: TASK,
    contextId: CONTEXT,
    artifact: value,
    append,
    lastChunk: false,
    text: partsText(artifactParts),
    data: partsData(artifactParts),
    final: false,
    event: { taskId: TASK, contextId: CONTEXT, artifact: value, append, lastChunk: false, metadata: undefined },
  };
}

describe('AgentCallCollector', () => {
  it('joins streamed text chunks per artifact and appends result data as JSON', () => {
    const call = new AgentCallCollector();
    call.add(artifact('a1', { text: 'Hello, ' }));
    call.add(artifact('a1', { text: 'world' }, true));
    call.add(artifact('a2', { data: { temperature: 21 } }));
    call.add(status(TaskState.TASK_STATE_COMPLETED));
    expect(call.end).toEqual({ kind: 'completed' });
    expect(call.taskId).toBe(TASK);
    expect(call.output()).toBe('Hello, world\n\n{"temperature":21}');
  });

  it('keeps the agent’s latest usage total (a running total: the final status repeats it)', () => {
    const call = new AgentCallCollector();
    expect(call.usage).toBeUndefined();
    call.add(status(TaskState.TASK_STATE_WORKING, 'step', undefined, { [EnsembleMetadataKey.usage]: { prompt_tokens: 10, completion_tokens: 2 } }));
    call.add(status(TaskState.TASK_STATE_WORKING, 'no usage here'));
    call.add(status(TaskState.TASK_STATE_WORKING, 'bad', undefined, { [EnsembleMetadataKey.usage]: { prompt_tokens: -1 } }));
    call.add(status(TaskState.TASK_STATE_FAILED, 'boom', undefined, { [EnsembleMetadataKey.usage]: { prompt_tokens: 25, completion_tokens: 6, total_tokens: 31 } }));
    expect(call.usage).toEqual({ prompt_tokens: 25, completion_tokens: 6, total_tokens: 31 });
  });

  it('takes the answer from the final status message when no artifact was sent', () => {
    const call = new AgentCallCollector();
    call.add(status(TaskState.TASK_STATE_COMPLETED, 'all done'));
    expect(call.output()).toBe('all done');
  });

  it('reads a re-planning request from a data part or metadata, and keeps it out of the output', () => {
    const fromData = new AgentCallCollector();
    fromData.add(artifact('a1', { text: 'partial', data: { replan: { reason: 'need more' } } }));
    expect(fromData.replan).toEqual({ reason: 'need more' });
    expect(fromData.output()).toBe('partial');

    const fromMetadata = new AgentCallCollector();
    fromMetadata.add(status(TaskState.TASK_STATE_WORKING, 'thinking', undefined, { 'ensemble.replan': { reason: 'changed course' } }));
    expect(fromMetadata.replan).toEqual({ reason: 'changed course' });

    // A `replan` key that is not a valid signal is the agent's data, like any other.
    const malformed = new AgentCallCollector();
    malformed.add(artifact('a1', { text: 'done', data: { replan: 'soon' } }));
    malformed.add(status(TaskState.TASK_STATE_WORKING, 'still going', undefined, { 'ensemble.replan': { reason: '' } }));
    expect(malformed.replan).toBeUndefined();
    expect(malformed.data()).toEqual([{ replan: 'soon' }]);
  });

  it('turns working updates into progress, preferring the agent’s own reasoning event', () => {
    const call = new AgentCallCollector();
    expect(call.add(status(TaskState.TASK_STATE_WORKING, 'searching'))).toEqual({ type: 'status', message: 'searching' });
    expect(call.add(status(TaskState.TASK_STATE_WORKING))).toBeUndefined();
    const explicit = status(TaskState.TASK_STATE_WORKING, 'ignored', undefined, { [EnsembleMetadataKey.reasoningEvent]: { type: 'tool_call', message: 'calling weather', metadata: { tool: 'weather' } } });
    expect(call.add(explicit)).toEqual({ type: 'tool_call', message: 'calling weather', metadata: { tool: 'weather' } });
  });

  it('reports failures, rejections and approval requests with the agent’s words', () => {
    const failed = new AgentCallCollector();
    failed.add(status(TaskState.TASK_STATE_FAILED, 'disk full'));
    expect(failed.end).toEqual({ kind: 'failed', reason: 'disk full' });

    const rejected = new AgentCallCollector();
    rejected.add(status(TaskState.TASK_STATE_REJECTED));
    expect(rejected.end).toEqual({ kind: 'rejected', reason: 'task rejected' });

    const approval = new AgentCallCollector();
    const request = { key: 'approval', summary: 'Delete 3 files' };
    approval.add(status(TaskState.TASK_STATE_AUTH_REQUIRED, 'Approval needed: Delete 3 files', { approvalRequest: request }));
    expect(approval.end).toEqual({ kind: 'approval_required', question: 'Approval needed: Delete 3 files', request, input: false });

    // input-required is a question for the user (an approval of kind "input"), not a consent.
    const question = new AgentCallCollector();
    question.add(status(TaskState.TASK_STATE_INPUT_REQUIRED, 'Which environment?'));
    expect(question.end).toMatchObject({ kind: 'approval_required', question: 'Which environment?', input: true });
  });
});
