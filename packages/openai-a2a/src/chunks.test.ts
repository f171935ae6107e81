import { type Artifact, type Message, Role, type StreamResponse, type Task, TaskState } from '@a2a-js/sdk';
import OpenAI, { APIError } from 'openai';
import { describe, expect, it } from 'vitest';

import { type EnsembleChatCompletionChunk, createChunkTranslator, reasoningEventOf } from './chunks.js';
import { EnsembleMetadataKey } from './metadata.js';
import { dataPart, textPart } from '@ensemble/a2a/parts';

const OPTIONS = { id: 'chatcmpl-test', model: 'ensemble', created: 1_700_000_000, agent: 'orchestrator' };
const IDS = { taskId: 'task-1', contextId: 'ctx-1' };

function agentMessage(text: string, metadata?: Record<string, unknown>): Message {
  return { messageId: `msg-${text}`, ...IDS, role: Role.ROLE_AGENT, parts: [textPart(text)], metadata, extensions: [], referenceTaskIds: [] };
}

function statusUpdate(state: TaskState, text?: string, metadata?: Record<string, unknown>): StreamResponse {
  return {
    payload: {
      $case: 'statusUpdate',
      value: { ...IDS, status: { state, message: text === undefined ? undefined : agentMessage(text), timestamp: undefined }, metadata },
    },
  };
}

function artifact(artifactId: string, text: string, metadata?: Record<string, unknown>): Artifact {
  return { artifactId, name: '', description: '', parts: [textPart(text)], metadata, extensions: [] };
}

function artifactUpdate(artifactId: string, text: string, options: { append?: boolean; metadata?: Record<string, unknown> } = {}): StreamResponse {
  return {
    payload: {
      $case: 'artifactUpdate',
      value: { ...IDS, artifact: artifact(artifactId, text), append: options.append ?? false, lastChunk: false, metadata: options.metadata },
    },
  };
}

function task(state: TaskState, artifacts: Artifact[] = [], metadata?: Record<string, unknown>): StreamResponse {
  const value: Task = { id: IDS.taskId, contextId: IDS.contextId, status: { state, message: undefined, timestamp: undefined }, artifacts, history: [], metadata };
  return { payload: { $case: 'task', value } };
}

function run(events: StreamResponse[], includeUsage = false) {
  const translator = createChunkTranslator({ ...OPTIONS, includeUsage });
  const chunks = [...events.flatMap((event) => translator.translate(event)), ...translator.finish()];
  return { translator, chunks, ...summarize(chunks) };
}

function summarize(chunks: EnsembleChatCompletionChunk[]) {
  return {
    content: chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join(''),
    refusal: chunks.map((chunk) => chunk.choices[0]?.delta.refusal ?? '').join(''),
    reasoning: chunks.flatMap((chunk) => (chunk.choices[0]?.delta.reasoning_event === undefined ? [] : [chunk.choices[0].delta.reasoning_event])),
    finishReasons: chunks.flatMap((chunk) => chunk.choices.flatMap((choice) => (choice.finish_reason === null ? [] : [choice.finish_reason]))),
    errors: chunks.flatMap((chunk) => (chunk.error === undefined ? [] : [chunk.error])),
  };
}

describe('createChunkTranslator: task states', () => {
  it.each([
    { state: TaskState.TASK_STATE_SUBMITTED, name: 'submitted', content: '', reasoning: ['status'], finished: false, error: null },
    { state: TaskState.TASK_STATE_WORKING, name: 'working', content: '', reasoning: ['status'], finished: false, error: null },
    { state: TaskState.TASK_STATE_COMPLETED, name: 'completed', content: 'note', reasoning: [], finished: true, error: null },
    { state: TaskState.TASK_STATE_INPUT_REQUIRED, name: 'input-required', content: 'note', reasoning: ['approval_required'], finished: true, error: null },
    { state: TaskState.TASK_STATE_AUTH_REQUIRED, name: 'auth-required', content: 'note', reasoning: ['approval_required'], finished: true, error: null },
    { state: TaskState.TASK_STATE_REJECTED, name: 'rejected', content: '', refusal: 'note', reasoning: ['status'], finished: true, error: null },
    { state: TaskState.TASK_STATE_FAILED, name: 'failed', content: 'Error: Agent "orchestrator" failed: note', reasoning: ['error'], finished: true, error: 'agent_failed' },
    { state: TaskState.TASK_STATE_CANCELED, name: 'canceled', content: 'Error: The task was canceled: note', reasoning: ['error'], finished: true, error: 'task_canceled' },
  ])('$name with a status message', ({ state, name, content, refusal, reasoning, finished, error }) => {
    const translator = createChunkTranslator(OPTIONS);
    const chunks = translator.translate(statusUpdate(state, 'note'));
    const summary = summarize(chunks);
    expect(summary.content).toBe(content);
    expect(summary.refusal).toBe(refusal ?? '');
    expect(summary.reasoning.map((event) => event.type)).toEqual(reasoning);
    expect(translator.finished).toBe(finished);
    expect(translator.result.state).toBe(name);
    expect(summary.finishReasons).toEqual(finished ? ['stop'] : []);
    expect(summary.errors.map((body) => body.code)).toEqual(error === null ? [] : [error]);
    expect(translator.result.error?.wireCode ?? null).toBe(error);
    for (const event of summary.reasoning) expect(event.agent).toBe('orchestrator');
  });

  it('a rejection that carries an error code is an OpenAI error with that code (403), not a refusal', () => {
    const message: Message = {
      ...agentMessage('Node "deploy" (agent "deployer") did not proceed: Approval rejected: not during the freeze'),
      parts: [
        textPart('Node "deploy" (agent "deployer") did not proceed: Approval rejected: not during the freeze'),
        dataPart({ error: { code: 'approval_rejected', message: 'Approval rejected', nodes: [{ node: 'deploy', agent: 'deployer' }] } }),
      ],
    };
    const rejected: StreamResponse = { payload: { $case: 'statusUpdate', value: { ...IDS, status: { state: TaskState.TASK_STATE_REJECTED, message, timestamp: undefined }, metadata: undefined } } };
    const { translator, content, refusal, reasoning, finishReasons, errors } = run([task(TaskState.TASK_STATE_SUBMITTED), rejected]);
    expect(refusal).toBe('');
    expect(content).toBe('Error: Node "deploy" (agent "deployer") did not proceed: Approval rejected: not during the freeze');
    expect(errors).toEqual([
      { message: 'Node "deploy" (agent "deployer") did not proceed: Approval rejected: not during the freeze', type: 'permission_error', param: null, code: 'approval_rejected' },
    ]);
    expect(reasoning.at(-1)).toMatchObject({ type: 'error', metadata: { state: 'rejected', code: 'approval_rejected' } });
    expect(finishReasons).toEqual(['stop']);
    expect(translator.result.state).toBe('rejected');
    expect(translator.result.error).toMatchObject({ status: 403, wireCode: 'approval_rejected', details: { task_id: 'task-1', context_id: 'ctx-1' } });
  });

  it('a rejection whose data part has no error code stays a refusal', () => {
    const message: Message = { ...agentMessage('not my job'), parts: [textPart('not my job'), dataPart({ error: { message: 'no code' } })] };
    const rejected: StreamResponse = { payload: { $case: 'statusUpdate', value: { ...IDS, status: { state: TaskState.TASK_STATE_REJECTED, message, timestamp: undefined }, metadata: undefined } } };
    const { refusal, errors, translator } = run([rejected]);
    expect(refusal).toBe('not my job');
    expect(errors).toEqual([]);
    expect(translator.result.error).toBeUndefined();
  });

  it.each([
    { state: TaskState.TASK_STATE_INPUT_REQUIRED, text: 'The agent needs more input to continue.' },
    { state: TaskState.TASK_STATE_AUTH_REQUIRED, text: 'The agent needs your approval to continue.' },
  ])('an interrupted state without a message still asks something ($text)', ({ state, text }) => {
    const { content, reasoning } = run([statusUpdate(state)]);
    expect(content).toBe(text);
    expect(reasoning[0]?.message).toBe(text);
  });

  it('an approval request names the task to answer and what needs approval', () => {
    const { content, reasoning, finishReasons, errors } = run([
      task(TaskState.TASK_STATE_SUBMITTED),
      artifactUpdate('a1', 'Draft ready.'),
      statusUpdate(TaskState.TASK_STATE_AUTH_REQUIRED, 'Approve deleting 3 files?', { [EnsembleMetadataKey.agent]: 'files', [EnsembleMetadataKey.node]: 'n2' }),
    ]);
    expect(content).toBe('Draft ready.\n\nApprove deleting 3 files?');
    const approval = reasoning.find((event) => event.type === 'approval_required');
    expect(approval).toMatchObject({
      agent: 'files',
      node: 'n2',
      message: 'Approve deleting 3 files?',
      metadata: { state: 'auth-required', task_id: 'task-1', context_id: 'ctx-1' },
    });
    expect(finishReasons).toEqual(['stop']);
    expect(errors).toEqual([]);
  });

  it('completed without a message or artifacts ends with an empty answer, not an error', () => {
    const { content, finishReasons, errors, translator } = run([task(TaskState.TASK_STATE_SUBMITTED), statusUpdate(TaskState.TASK_STATE_COMPLETED)]);
    expect(content).toBe('');
    expect(finishReasons).toEqual(['stop']);
    expect(errors).toEqual([]);
    expect(translator.result.finishReason).toBe('stop');
  });

  it('completed after streamed content shows its status message as reasoning, not content', () => {
    const { content, reasoning } = run([artifactUpdate('a', 'The answer.'), statusUpdate(TaskState.TASK_STATE_COMPLETED, 'done in 2 steps')]);
    expect(content).toBe('The answer.');
    expect(reasoning.at(-1)).toMatchObject({ type: 'status', message: 'done in 2 steps', metadata: { state: 'completed' } });
  });

  it('a failure after partial content keeps the content and explains on a new paragraph', () => {
    const { content, errors, translator } = run([artifactUpdate('a', 'Partial'), statusUpdate(TaskState.TASK_STATE_FAILED, 'upstream timed out', { [EnsembleMetadataKey.agent]: 'rag' })]);
    expect(content).toBe('Partial\n\nError: Agent "rag" failed: upstream timed out');
    expect(errors).toEqual([{ message: 'Agent "rag" failed: upstream timed out', type: 'upstream_error', param: null, code: 'agent_failed' }]);
    expect(translator.result.error?.status).toBe(502);
    expect(translator.result.error?.details).toEqual({ task_id: 'task-1', context_id: 'ctx-1' });
  });

  it('a failure reason that names an address (a driver error in the agent) reaches the client without it', () => {
    const { chunks, content, errors } = run([statusUpdate(TaskState.TASK_STATE_FAILED, 'Event log read failed: connect ECONNREFUSED 127.0.0.1:6379')]);
    expect(errors.map((error) => error.message)).toEqual(['Agent "orchestrator" failed: Event log read failed: connect ECONNREFUSED <address withheld>']);
    expect(content).toContain('connect ECONNREFUSED <address withheld>');
    expect(JSON.stringify(chunks)).not.toContain('127.0.0.1');
  });
});

describe('createChunkTranslator: event kinds', () => {
  it('a task snapshot announces its state and streams its artifacts', () => {
    const { content, reasoning, translator } = run([task(TaskState.TASK_STATE_WORKING, [artifact('a', 'from snapshot')])]);
    expect(content).toContain('from snapshot');
    expect(reasoning[0]).toMatchObject({ type: 'status', message: 'working', metadata: { state: 'working' } });
    expect(translator.result.taskId).toBe('task-1');
    expect(translator.result.contextId).toBe('ctx-1');
  });

  it('a final task snapshot adds only what was not streamed yet', () => {
    const { content } = run([
      artifactUpdate('a', 'Hello'),
      artifactUpdate('a', ', world', { append: true }),
      task(TaskState.TASK_STATE_COMPLETED, [artifact('a', 'Hello, world!'), artifact('b', 'Sources: x')]),
    ]);
    expect(content).toBe('Hello, world!\n\nSources: x');
  });

  it('a blocking result (a completed task alone) is the whole answer', () => {
    const { content, finishReasons, translator } = run([task(TaskState.TASK_STATE_COMPLETED, [artifact('a', 'All done.')])]);
    expect(content).toBe('All done.');
    expect(finishReasons).toEqual(['stop']);
    expect(translator.result.state).toBe('completed');
  });

  it('an agent message ends the turn with its text', () => {
    const message = agentMessage('Direct reply');
    const { content, finishReasons, translator } = run([{ payload: { $case: 'message', value: message } }]);
    expect(content).toBe('Direct reply');
    expect(finishReasons).toEqual(['stop']);
    expect(translator.result.state).toBeUndefined();
    expect(translator.result.error).toBeUndefined();
  });

  it('appended artifact chunks stream as deltas and separate artifacts start a new paragraph', () => {
    const translator = createChunkTranslator(OPTIONS);
    const deltas = [
      artifactUpdate('a', 'one '),
      artifactUpdate('a', 'two', { append: true }),
      artifactUpdate('b', 'second artifact'),
    ].map((event) => summarize(translator.translate(event)).content);
    expect(deltas).toEqual(['one ', 'two', '\n\nsecond artifact']);
  });

  it('renders non-text parts as text an OpenAI client can show', () => {
    const parts = [
      textPart('Table: '),
      dataPart({ rows: 2 }),
      { content: { $case: 'url' as const, value: 'https://example.test/r.pdf' }, metadata: undefined, filename: 'r.pdf', mediaType: 'application/pdf' },
      { content: { $case: 'raw' as const, value: Buffer.from('x') }, metadata: undefined, filename: 'a.png', mediaType: 'image/png' },
    ];
    const { content } = run([
      { payload: { $case: 'artifactUpdate', value: { ...IDS, artifact: { ...artifact('a', ''), parts }, append: false, lastChunk: true, metadata: undefined } } },
    ]);
    expect(content).toContain('Table: {"rows":2}[r.pdf](https://example.test/r.pdf)[file a.png (image/png) not shown]');
  });

  it('an event without payload or artifact produces nothing', () => {
    const translator = createChunkTranslator(OPTIONS);
    expect(translator.translate({ payload: undefined })).toEqual([]);
    expect(
      translator.translate({ payload: { $case: 'artifactUpdate', value: { ...IDS, artifact: undefined, append: false, lastChunk: false, metadata: undefined } } }),
    ).toEqual([]);
  });

  it('sends the assistant role once, on the first chunk, and keeps id/model/created on every chunk', () => {
    const { chunks } = run([statusUpdate(TaskState.TASK_STATE_WORKING, 'thinking'), artifactUpdate('a', 'x'), statusUpdate(TaskState.TASK_STATE_COMPLETED)], true);
    const roles = chunks.map((chunk) => chunk.choices[0]?.delta.role);
    expect(roles[0]).toBe('assistant');
    expect(roles.slice(1).every((role) => role === undefined)).toBe(true);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id: 'chatcmpl-test', object: 'chat.completion.chunk', model: 'ensemble', created: 1_700_000_000 });
    }
  });
});

describe('createChunkTranslator: reasoning events', () => {
  it('attributes events to the agent and node named in metadata, in sequence', () => {
    const { reasoning } = run([
      statusUpdate(TaskState.TASK_STATE_WORKING, 'planning', { [EnsembleMetadataKey.agent]: 'planner', [EnsembleMetadataKey.step]: 0 }),
      statusUpdate(TaskState.TASK_STATE_WORKING, 'searching', { [EnsembleMetadataKey.agent]: 'search', [EnsembleMetadataKey.node]: 'n1', [EnsembleMetadataKey.step]: 1 }),
      statusUpdate(TaskState.TASK_STATE_WORKING, 'no attribution'),
    ]);
    expect(reasoning.slice(0, 3)).toEqual([
      { type: 'status', agent: 'planner', step: 0, sequence: 0, message: 'planning', metadata: { state: 'working' } },
      { type: 'status', agent: 'search', node: 'n1', step: 1, sequence: 1, message: 'searching', metadata: { state: 'working' } },
      { type: 'status', agent: 'orchestrator', sequence: 2, message: 'no attribution', metadata: { state: 'working' } },
    ]);
  });

  it('forwards an explicit reasoning event, filling attribution and sequence', () => {
    const explicit = { type: 'node_started', message: 'Searching the web', metadata: { query: 'paris' } };
    const { reasoning } = run([
      statusUpdate(TaskState.TASK_STATE_WORKING, undefined, { [EnsembleMetadataKey.reasoningEvent]: explicit, [EnsembleMetadataKey.agent]: 'search', [EnsembleMetadataKey.node]: 'n3' }),
      artifactUpdate('a', 'hi', { metadata: { [EnsembleMetadataKey.reasoningEvent]: { type: 'synthesis', agent: 'writer', sequence: 10 } } }),
      statusUpdate(TaskState.TASK_STATE_WORKING, 'after'),
    ]);
    expect(reasoning[0]).toEqual({ ...explicit, agent: 'search', node: 'n3', sequence: 0 });
    expect(reasoning[1]).toEqual({ type: 'synthesis', agent: 'writer', sequence: 10 });
    // Sequence numbers never go backwards after a producer-set one.
    expect(reasoning[2]?.sequence).toBe(11);
  });

  it('numbers an event derived from a workflow log record by that record’s position', () => {
    const { reasoning } = run([
      statusUpdate(TaskState.TASK_STATE_WORKING, 'planning', { [EnsembleMetadataKey.position]: 41 }),
      statusUpdate(TaskState.TASK_STATE_WORKING, undefined, { [EnsembleMetadataKey.reasoningEvent]: { type: 'node_started', sequence: 42 }, [EnsembleMetadataKey.position]: 42 }),
      statusUpdate(TaskState.TASK_STATE_WORKING, 'still going', { [EnsembleMetadataKey.position]: 44 }),
    ]);
    // The stream then ends without a final state: that event (from `finish()`) counts on, never repeating 44.
    expect(reasoning.map((event) => event.sequence)).toEqual([41, 42, 44, 45]);
  });

  it('falls back to a derived event when the explicit one is malformed', () => {
    const { reasoning } = run([statusUpdate(TaskState.TASK_STATE_WORKING, 'still going', { [EnsembleMetadataKey.reasoningEvent]: { type: 'not-a-type' } })]);
    expect(reasoning[0]).toMatchObject({ type: 'status', message: 'still going' });
  });

  it('announces a bare state change once per agent and node', () => {
    const events = [
      statusUpdate(TaskState.TASK_STATE_WORKING),
      statusUpdate(TaskState.TASK_STATE_WORKING),
      statusUpdate(TaskState.TASK_STATE_WORKING, undefined, { [EnsembleMetadataKey.agent]: 'rag', [EnsembleMetadataKey.node]: 'n1' }),
      statusUpdate(TaskState.TASK_STATE_WORKING, undefined, { [EnsembleMetadataKey.agent]: 'rag', [EnsembleMetadataKey.node]: 'n1' }),
      statusUpdate(TaskState.TASK_STATE_WORKING, undefined, { [EnsembleMetadataKey.agent]: 'rag', [EnsembleMetadataKey.node]: 'n2' }),
    ];
    const { reasoning } = run(events);
    expect(reasoning.filter((event) => event.type === 'status').map((event) => [event.agent, event.node])).toEqual([
      ['orchestrator', undefined],
      ['rag', 'n1'],
      ['rag', 'n2'],
    ]);
  });
});

describe('createChunkTranslator: where progress goes in a chunk', () => {
  const search = { [EnsembleMetadataKey.reasoningEvent]: { type: 'node_started', message: 'started' }, [EnsembleMetadataKey.agent]: 'search-agent', [EnsembleMetadataKey.node]: 'web-search' };

  it('puts the event in choices[0].delta.reasoning_event and a line of text in delta.reasoning_content', () => {
    const translator = createChunkTranslator(OPTIONS);
    const [chunk] = translator.translate(statusUpdate(TaskState.TASK_STATE_WORKING, undefined, search));
    // The plan's desktop client reads `choices[0].delta.reasoning_event` (its `OpenAIDelta` model).
    expect(chunk?.choices[0]?.delta).toEqual({
      role: 'assistant',
      reasoning_event: { type: 'node_started', message: 'started', agent: 'search-agent', node: 'web-search', sequence: 0 },
      reasoning_content: '[search-agent] web-search: started\n',
    });
    expect(chunk?.choices[0]?.finish_reason).toBeNull();
    expect(chunk).not.toHaveProperty('reasoning_event');
  });

  it('writes one line per event, so consecutive lines render as lines', () => {
    const { chunks } = run([
      statusUpdate(TaskState.TASK_STATE_WORKING, undefined, search),
      statusUpdate(TaskState.TASK_STATE_WORKING, 'Found   3\nsources', { [EnsembleMetadataKey.agent]: 'rag', [EnsembleMetadataKey.node]: 'lookup' }),
      statusUpdate(TaskState.TASK_STATE_COMPLETED, 'The answer'),
    ]);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.reasoning_content ?? '').join('');
    expect(text).toBe('[search-agent] web-search: started\n[rag] lookup: Found 3 sources\n');
    // The answer itself never goes into the reasoning text.
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content !== undefined).every((chunk) => chunk.choices[0]?.delta.reasoning_content === undefined)).toBe(true);
  });

  it('uses delta.reasoning when configured so (OpenRouter / Ollama clients)', () => {
    const translator = createChunkTranslator({ ...OPTIONS, reasoningField: 'reasoning' });
    const [chunk] = translator.translate(statusUpdate(TaskState.TASK_STATE_WORKING, undefined, search));
    expect(chunk?.choices[0]?.delta.reasoning).toBe('[search-agent] web-search: started\n');
    expect(chunk?.choices[0]?.delta).not.toHaveProperty('reasoning_content');
    expect(chunk?.choices[0]?.delta.reasoning_event?.agent).toBe('search-agent');
  });

  it('sends only the structured event with reasoningField none', () => {
    const translator = createChunkTranslator({ ...OPTIONS, reasoningField: 'none' });
    const [chunk] = translator.translate(statusUpdate(TaskState.TASK_STATE_WORKING, undefined, search));
    expect(Object.keys(chunk?.choices[0]?.delta ?? {}).sort()).toEqual(['reasoning_event', 'role']);
    expect(chunk?.choices[0]?.delta.reasoning_event?.type).toBe('node_started');
  });

  it('reasoningEventOf reads the event from any chunk', () => {
    const { chunks } = run([statusUpdate(TaskState.TASK_STATE_WORKING, undefined, search), statusUpdate(TaskState.TASK_STATE_COMPLETED, 'ok')], true);
    expect(chunks.map((chunk) => reasoningEventOf(chunk)?.node)).toEqual(['web-search', undefined, undefined, undefined]);
  });
});

describe('createChunkTranslator: end of stream and usage', () => {
  it('adds the usage spent before the agent was called (the classifier) to what it reports', () => {
    const translator = createChunkTranslator({ ...OPTIONS, includeUsage: true, priorUsage: { prompt_tokens: 100, completion_tokens: 9 } });
    translator.translate(statusUpdate(TaskState.TASK_STATE_WORKING, 'a', { [EnsembleMetadataKey.usage]: { prompt_tokens: 5, completion_tokens: 1 } }));
    translator.translate(statusUpdate(TaskState.TASK_STATE_COMPLETED, 'ok', { [EnsembleMetadataKey.usage]: { prompt_tokens: 20, completion_tokens: 7 } }));
    expect(translator.finish().at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 120, completion_tokens: 16, total_tokens: 136 } });
  });

  it('reports the prior usage alone when the agent reports none', () => {
    const translator = createChunkTranslator({ ...OPTIONS, includeUsage: true, priorUsage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } });
    translator.translate(statusUpdate(TaskState.TASK_STATE_COMPLETED, 'ok'));
    expect(translator.finish().at(-1)?.usage).toEqual({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
  });

  it('closes a stream that ended early with an incomplete-stream error', () => {
    const { content, errors, finishReasons, translator } = run([task(TaskState.TASK_STATE_SUBMITTED), artifactUpdate('a', 'half')]);
    expect(content).toBe('half\n\nError: Agent "orchestrator" stopped streaming before the task finished');
    expect(errors[0]?.code).toBe('stream_incomplete');
    expect(finishReasons).toEqual(['stop']);
    expect(translator.result.state).toBe('submitted');
    expect(translator.result.error?.status).toBe(502);
  });

  it('ignores what follows the end of the turn (an auth-required stream stays open)', () => {
    const translator = createChunkTranslator(OPTIONS);
    translator.translate(statusUpdate(TaskState.TASK_STATE_AUTH_REQUIRED, 'approve?'));
    expect(translator.finished).toBe(true);
    expect(translator.translate(artifactUpdate('a', 'late'))).toEqual([]);
    expect(translator.finish()).toEqual([]);
    expect(translator.finish()).toEqual([]);
  });

  it('keeps the latest usage total and emits it as the trailing usage chunk', () => {
    const { chunks, translator } = run(
      [
        statusUpdate(TaskState.TASK_STATE_WORKING, 'a', { [EnsembleMetadataKey.usage]: { prompt_tokens: 5, completion_tokens: 1 } }),
        artifactUpdate('a', 'x', { metadata: { [EnsembleMetadataKey.usage]: 'garbage' } }),
        statusUpdate(TaskState.TASK_STATE_COMPLETED, undefined, { [EnsembleMetadataKey.usage]: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 } }),
      ],
      true,
    );
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    // OpenAI semantics: the other chunks carry `usage: null`.
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null && chunk.choices.length === 1)).toBe(true);
    expect(last?.usage).toEqual({ prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 });
    expect(translator.result.usage).toEqual({ prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 });
  });

  it('reports unknown usage as null rather than inventing zeros', () => {
    const { chunks } = run([statusUpdate(TaskState.TASK_STATE_COMPLETED, 'ok')], true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: null });
  });

  it('omits the usage chunk unless asked', () => {
    const { chunks } = run([statusUpdate(TaskState.TASK_STATE_COMPLETED, 'ok', { [EnsembleMetadataKey.usage]: { prompt_tokens: 1, completion_tokens: 1 } })]);
    expect(chunks.every((chunk) => chunk.choices.length === 1 && chunk.usage === undefined)).toBe(true);
  });
});

describe('chunks as read by the official OpenAI SDK', () => {
  function clientReturning(chunks: EnsembleChatCompletionChunk[]): OpenAI {
    const body = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('') + 'data: [DONE]\n\n';
    return new OpenAI({
      apiKey: 'test',
      baseURL: 'http://ensemble.invalid/v1',
      maxRetries: 0,
      fetch: () => Promise.resolve(new Response(body, { headers: { 'content-type': 'text/event-stream' } })),
    });
  }

  it('streams content and the finish reason for a completed task', async () => {
    const { chunks } = run([task(TaskState.TASK_STATE_SUBMITTED), artifactUpdate('a', 'Hi '), artifactUpdate('a', 'there', { append: true }), statusUpdate(TaskState.TASK_STATE_COMPLETED)]);
    const stream = await clientReturning(chunks).chat.completions.create({ model: 'ensemble', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('Hi there');
    expect(finish).toBe('stop');
  });

  it('raises the failure as an APIError carrying our error object', async () => {
    const { chunks } = run([artifactUpdate('a', 'partial'), statusUpdate(TaskState.TASK_STATE_FAILED, 'boom')]);
    const stream = await clientReturning(chunks).chat.completions.create({ model: 'ensemble', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const read = async () => {
      for await (const _chunk of stream) {
        // drain
      }
    };
    const error: unknown = await read().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).code).toBe('agent_failed');
    expect((error as APIError).message).toContain('failed: boom');
  });
});

describe('createChunkTranslator: client event shape', () => {
  it('translates @ensemble/a2a client events exactly like StreamResponses', () => {
    const sdkEvents: StreamResponse[] = [
      task(TaskState.TASK_STATE_SUBMITTED),
      statusUpdate(TaskState.TASK_STATE_WORKING, 'step 1', { [EnsembleMetadataKey.agent]: 'planner' }),
      artifactUpdate('a', 'answer'),
      statusUpdate(TaskState.TASK_STATE_COMPLETED),
    ];
    // The client's events carry the same SDK objects plus convenience fields (ignored here).
    const clientEvents = sdkEvents.map((event) => {
      const payload = event.payload!;
      switch (payload.$case) {
        case 'task':
          return { kind: 'task' as const, task: payload.value, final: false };
        case 'message':
          return { kind: 'message' as const, message: payload.value, final: true };
        case 'statusUpdate':
          return { kind: 'status' as const, event: payload.value, text: 'ignored' };
        case 'artifactUpdate':
          return { kind: 'artifact' as const, event: payload.value, text: 'ignored' };
      }
    });
    const fromSdk = createChunkTranslator(OPTIONS);
    const fromClient = createChunkTranslator(OPTIONS);
    expect(clientEvents.flatMap((event) => fromClient.translate(event))).toEqual(sdkEvents.flatMap((event) => fromSdk.translate(event)));
    expect(fromClient.result).toEqual(fromSdk.result);
    expect(fromClient.finished).toBe(true);
  });

  it('translates a client message event', () => {
    const translator = createChunkTranslator(OPTIONS);
    const { content, finishReasons } = summarize(translator.translate({ kind: 'message', message: agentMessage('hi') }));
    expect(content).toBe('hi');
    expect(finishReasons).toEqual(['stop']);
  });
});
