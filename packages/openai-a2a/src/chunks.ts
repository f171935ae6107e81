import {
  type Artifact,
  type Message,
  type StreamResponse,
  type Task,
  type TaskArtifactUpdateEvent,
  TaskState,
  type TaskStatus,
  type TaskStatusUpdateEvent,
} from '@a2a-js/sdk';
import { type TaskStateName, taskStateName } from '@ensemble/a2a/parts';
import { EnsembleError, ErrorCode, type OpenAIErrorBody, type ReasoningEvent, type TokenUsage, sumTokenUsage, toOpenAIErrorBody, withoutAddresses } from '@ensemble/protocol';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionMessage } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';

import { type A2AMetadata, readAttribution, readPosition, readReasoningEvent, readUsage } from './metadata.js';
import { partsToText, plainText } from './parts.js';
import { DEFAULT_REASONING_TEXT_FIELD, type ReasoningTextField, reasoningLine } from './reasoning-text.js';

/** A chunk's `delta` with Ensemble's progress fields. */
export type EnsembleChunkDelta = ChatCompletionChunk.Choice.Delta & {
  /**
   * Progress from the agents (status updates, plan steps, approvals), attributed to who produced it
   * (`agent`, `node`, `sequence`). Where the plan's desktop client (`OpenAIDelta`) reads it.
   */
  reasoning_event?: ReasoningEvent;
  /** The same progress as one line of text (`reasoningLine`), for chat UIs that show thinking. */
  reasoning_content?: string;
  /** As `reasoning_content`, when the translator is set to the OpenRouter / Ollama field name. */
  reasoning?: string;
};

export type EnsembleChunkChoice = Omit<ChatCompletionChunk.Choice, 'delta'> & { delta: EnsembleChunkDelta };

/** A `chat.completion.chunk` with Ensemble's extra fields. */
export type EnsembleChatCompletionChunk = Omit<ChatCompletionChunk, 'choices'> & {
  choices: EnsembleChunkChoice[];
  /**
   * Set on the last chunk of a failed or canceled task. OpenAI SDK clients raise it as an `APIError`
   * when they read the chunk; plain SSE readers still see the explanation in `delta.content`.
   */
  error?: OpenAIErrorBody['error'];
};

/** The OpenAI finish reasons Ensemble produces (a subset of the SDK's union). */
export type FinishReason = NonNullable<ChatCompletionChunk.Choice['finish_reason']>;

/** Lower-case A2A task state names (the v0.3 wire names), as shown in reasoning event metadata. */
/**
 * An A2A stream event, as either producer hands it over: the SDK client's `StreamResponse`, or the
 * `{ kind, ... }` events of `@ensemble/a2a`'s client (`A2AStreamEvent`, which carries the same SDK
 * objects; extra fields are ignored).
 */
export type A2AEvent =
  | StreamResponse
  | { kind: 'task'; task: Task }
  | { kind: 'message'; message: Message }
  | { kind: 'status'; event: TaskStatusUpdateEvent }
  | { kind: 'artifact'; event: TaskArtifactUpdateEvent };

/** The SDK's `StreamResponse` for any `A2AEvent`. */
export function toStreamResponse(event: A2AEvent): StreamResponse {
  if (!('kind' in event)) return event;
  switch (event.kind) {
    case 'task':
      return { payload: { $case: 'task', value: event.task } };
    case 'message':
      return { payload: { $case: 'message', value: event.message } };
    case 'status':
      return { payload: { $case: 'statusUpdate', value: event.event } };
    case 'artifact':
      return { payload: { $case: 'artifactUpdate', value: event.event } };
  }
}

export interface ChunkTranslatorOptions {
  /** Completion id shared by every chunk (`chatcmpl-...`). */
  id: string;
  /** Model name echoed to the client. */
  model: string;
  /** Unix seconds. */
  created: number;
  /** Agent credited with events that carry no `ensemble.agent` metadata (the agent the caller talked to). */
  agent?: string;
  /** Emit OpenAI's trailing usage chunk (`choices: []`) from `finish()`: `stream_options.include_usage`. */
  includeUsage?: boolean;
  /** Delta field that also carries each reasoning event as a line of text; default `reasoning_content`. */
  reasoningField?: ReasoningTextField;
  /**
   * Tokens spent for this request before the agent was called (the gateway's routing classifier);
   * added to the usage the agent reports.
   */
  priorUsage?: TokenUsage;
}

/** What the turn came to, once the translator has seen it end. */
export interface TurnResult {
  taskId: string | undefined;
  contextId: string | undefined;
  /** Last task state seen; `undefined` when the agent answered with a plain message (no task). */
  state: TaskStateName | undefined;
  finishReason: FinishReason | undefined;
  /** Latest `ensemble.usage` seen (a running total) plus `priorUsage`, with `total_tokens` filled in. */
  usage: CompletionUsage | undefined;
  /** Set when the task failed, was canceled, or the stream ended before the task did. */
  error: EnsembleError | undefined;
}

export interface ChunkTranslator {
  /** Chunks for one A2A stream event, in order; `[]` once the turn has ended. */
  translate(event: A2AEvent): EnsembleChatCompletionChunk[];
  /**
   * Call when the A2A stream ends (or when you stop reading it). Closes a turn the agent left open with
   * an error chunk, then adds the usage chunk when `includeUsage` is set. Idempotent.
   */
  finish(): EnsembleChatCompletionChunk[];
  /**
   * True once the turn has ended (terminal or interrupted state, or an agent message). Stop reading the
   * A2A stream then: a stream at `auth-required` stays open by design.
   */
  readonly finished: boolean;
  readonly result: TurnResult;
}

const DEFAULT_TEXT: Partial<Record<TaskStateName, string>> = {
  'input-required': 'The agent needs more input to continue.',
  'auth-required': 'The agent needs your approval to continue.',
  rejected: 'The agent declined the request.',
};

/**
 * Translates an A2A event stream (`StreamResponse`s from the SDK client) into OpenAI chunks.
 *
 * Mapping (the contract other services rely on):
 * | A2A                                  | OpenAI chunk                                                        |
 * |--------------------------------------|---------------------------------------------------------------------|
 * | artifact text (any artifact)         | `delta.content` (new artifacts separated by a blank line)           |
 * | status submitted/working             | `delta.reasoning_event` (`status`, or the explicit one in metadata) |
 * | completed                            | `finish_reason: stop`; status text becomes content if none was sent |
 * | input-required / auth-required       | content = what is asked, `delta.reasoning_event: approval_required` |
 * |                                      | (metadata `task_id`, `context_id`, `state`), `finish_reason: stop`  |
 * | rejected                             | `delta.refusal` = the agent's reason, `finish_reason: stop`         |
 * | rejected with `{ error: { code } }`  | as failed, `error` {type permission_error, code = that code}, 403   |
 * | failed                               | content "Error: ...", `error` {type upstream_error, code            |
 * |                                      | agent_failed}, `delta.reasoning_event: error`, `finish_reason: stop`|
 * | canceled                             | same as failed with `error` {type cancelled_error, code             |
 * |                                      | task_canceled}                                                      |
 * | agent `message` (no task)            | content, `finish_reason: stop`                                      |
 * | stream ends before any of the above  | (from `finish()`) as failed, code `stream_incomplete`               |
 * | `ensemble.usage` metadata            | trailing usage chunk (`choices: []`), when `includeUsage`           |
 *
 * Every reasoning event travels in `choices[0].delta.reasoning_event`, and as one line of text
 * (`reasoningLine`) in `delta.reasoning_content` (or `delta.reasoning`, or not at all: `reasoningField`).
 *
 * `finish_reason` always stays within OpenAI's own enum (`stop`) so strict clients do not break; a
 * failure is signalled by the `error` object, which the OpenAI SDK raises as an `APIError`.
 */
export function createChunkTranslator(options: ChunkTranslatorOptions): ChunkTranslator {
  return new DefaultChunkTranslator(options);
}

class DefaultChunkTranslator implements ChunkTranslator {
  readonly #options: ChunkTranslatorOptions;
  #roleSent = false;
  #finished = false;
  #closed = false;
  #sequence = 0;
  /** The log position of the event being translated (orchestrated streams carry one): what its derived events are numbered by. */
  #position: number | undefined;
  #contentSent = false;
  #lastArtifactId: string | undefined;
  /** Text already sent per artifact, so a later task snapshot only adds what is new. */
  readonly #artifactText = new Map<string, string>();
  /** Last state announced per agent/node, so repeated bare `working` updates are not re-announced. */
  readonly #announcedStates = new Map<string, TaskState>();
  readonly #result: TurnResult = {
    taskId: undefined,
    contextId: undefined,
    state: undefined,
    finishReason: undefined,
    usage: undefined,
    error: undefined,
  };

  constructor(options: ChunkTranslatorOptions) {
    this.#options = options;
    this.#result.usage = sumTokenUsage(options.priorUsage);
  }

  get finished(): boolean {
    return this.#finished;
  }

  get result(): TurnResult {
    return { ...this.#result };
  }

  translate(event: A2AEvent): EnsembleChatCompletionChunk[] {
    // Anything after the end of the turn belongs to the next one (an auth-required stream stays open).
    if (this.#finished || this.#closed) return [];
    const payload = toStreamResponse(event).payload;
    if (payload === undefined) return [];
    this.#position = payload.$case === 'statusUpdate' || payload.$case === 'artifactUpdate' ? readPosition(payload.value.metadata) : undefined;
    switch (payload.$case) {
      case 'task':
        return this.#onTask(payload.value);
      case 'message':
        return this.#onMessage(payload.value);
      case 'statusUpdate':
        this.#noteIds(payload.value.taskId, payload.value.contextId);
        this.#noteUsage(payload.value.metadata, payload.value.status?.message?.metadata);
        return this.#onStatus(payload.value.status, payload.value.metadata);
      case 'artifactUpdate':
        return this.#onArtifactUpdate(payload.value);
    }
  }

  finish(): EnsembleChatCompletionChunk[] {
    if (this.#closed) return [];
    const chunks: EnsembleChatCompletionChunk[] = [];
    if (!this.#finished) {
      const error = new EnsembleError(ErrorCode.UpstreamError, `${this.#agentLabel(undefined)} stopped streaming before the task finished`, {
        wireCode: 'stream_incomplete',
        details: this.#errorDetails(),
      });
      chunks.push(...this.#fail(error, undefined, this.#result.state));
    }
    this.#closed = true;
    if (this.#options.includeUsage === true) {
      chunks.push({ ...this.#envelope(), choices: [], usage: this.#result.usage ?? null });
    }
    return chunks;
  }

  #onTask(task: Task): EnsembleChatCompletionChunk[] {
    this.#noteIds(task.id, task.contextId);
    this.#noteUsage(task.metadata);
    const chunks: EnsembleChatCompletionChunk[] = [];
    for (const artifact of task.artifacts) chunks.push(...this.#artifactChunks(artifact, false, task.metadata, true));
    chunks.push(...this.#onStatus(task.status, task.metadata));
    return chunks;
  }

  #onMessage(message: Message): EnsembleChatCompletionChunk[] {
    // A message (rather than a task) is the agent's whole answer: the turn ends with it.
    this.#noteIds(message.taskId, message.contextId);
    this.#noteUsage(message.metadata);
    const chunks: EnsembleChatCompletionChunk[] = [];
    const explicit = readReasoningEvent(message.metadata);
    if (explicit !== undefined) chunks.push(this.#reasoningChunk(this.#attribute(explicit, message.metadata)));
    const text = partsToText(message.parts);
    if (text !== '') chunks.push(this.#contentChunk(this.#separated(text, message.messageId)));
    chunks.push(this.#finishChunk('stop'));
    this.#finished = true;
    return chunks;
  }

  #onArtifactUpdate(event: TaskArtifactUpdateEvent): EnsembleChatCompletionChunk[] {
    this.#noteIds(event.taskId, event.contextId);
    this.#noteUsage(event.metadata, event.artifact?.metadata);
    if (event.artifact === undefined) return [];
    return this.#artifactChunks(event.artifact, event.append, event.metadata, false);
  }

  /**
   * `snapshot` artifacts (inside a Task) repeat what may already have been streamed: only the unseen
   * suffix is sent. Streamed updates either append or start the artifact over; a restart cannot be
   * retracted from a client that already printed it, so its text is simply sent.
   */
  #artifactChunks(artifact: Artifact, append: boolean, eventMetadata: A2AMetadata, snapshot: boolean): EnsembleChatCompletionChunk[] {
    const chunks: EnsembleChatCompletionChunk[] = [];
    const explicit = readReasoningEvent(eventMetadata) ?? readReasoningEvent(artifact.metadata);
    if (explicit !== undefined) chunks.push(this.#reasoningChunk(this.#attribute(explicit, eventMetadata, artifact.metadata)));

    const text = partsToText(artifact.parts);
    const seen = this.#artifactText.get(artifact.artifactId);
    let fresh: string;
    if (snapshot) {
      fresh = seen === undefined ? text : text.startsWith(seen) ? text.slice(seen.length) : '';
      if (seen === undefined || text.startsWith(seen)) this.#artifactText.set(artifact.artifactId, text);
    } else {
      fresh = text;
      this.#artifactText.set(artifact.artifactId, append ? (seen ?? '') + text : text);
    }
    if (fresh !== '') chunks.push(this.#contentChunk(this.#separated(fresh, artifact.artifactId)));
    return chunks;
  }

  #onStatus(status: TaskStatus | undefined, eventMetadata: A2AMetadata): EnsembleChatCompletionChunk[] {
    const state = status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
    const stateName = taskStateName(state);
    const messageMetadata: A2AMetadata = status?.message?.metadata;
    const text = statusText(status?.message);
    const explicit = readReasoningEvent(eventMetadata) ?? readReasoningEvent(messageMetadata);
    const attributed = (event: ReasoningEvent) => this.#attribute(event, eventMetadata, messageMetadata);
    this.#result.state = stateName;

    switch (state) {
      case TaskState.TASK_STATE_COMPLETED: {
        const chunks: EnsembleChatCompletionChunk[] = [];
        if (explicit !== undefined) chunks.push(this.#reasoningChunk(attributed(explicit)));
        // Some agents answer in the final status message instead of an artifact.
        if (text !== '' && !this.#contentSent) chunks.push(this.#contentChunk(text));
        else if (text !== '' && explicit === undefined) chunks.push(this.#reasoningChunk(attributed({ type: 'status', message: text, metadata: { state: stateName } })));
        chunks.push(this.#finishChunk('stop'));
        this.#finished = true;
        return chunks;
      }
      case TaskState.TASK_STATE_INPUT_REQUIRED:
      case TaskState.TASK_STATE_AUTH_REQUIRED: {
        const question = text === '' ? (DEFAULT_TEXT[stateName] ?? '') : text;
        const approval = attributed({
          ...explicit,
          type: 'approval_required',
          message: question,
          metadata: { ...explicit?.metadata, state: stateName, task_id: this.#result.taskId, context_id: this.#result.contextId },
        });
        const chunks = [this.#reasoningChunk(approval), this.#contentChunk(this.#paragraph(question)), this.#finishChunk('stop')];
        this.#finished = true;
        return chunks;
      }
      case TaskState.TASK_STATE_REJECTED: {
        const reason = text === '' ? (DEFAULT_TEXT.rejected ?? '') : text;
        // A rejection that names its cause (`{ error: { code } }` in a data part, e.g. the orchestrator's
        // `approval_rejected` after the user said no) is an outcome programs branch on: an OpenAI error
        // with that code and 403 (the action was not authorised), not a refusal only a person reads.
        const code = statusErrorCode(status?.message);
        if (code !== undefined) {
          const error = new EnsembleError(ErrorCode.Forbidden, reason, { wireCode: code, details: this.#errorDetails() });
          return this.#fail(error, explicit === undefined ? undefined : attributed(explicit), stateName, eventMetadata, messageMetadata);
        }
        const event = attributed(explicit ?? { type: 'status', message: reason, metadata: { state: stateName } });
        const chunks = [this.#reasoningChunk(event), this.#chunk({ refusal: reason }, null), this.#finishChunk('stop')];
        this.#finished = true;
        return chunks;
      }
      case TaskState.TASK_STATE_FAILED: {
        const agent = this.#agentLabel(readAttribution(eventMetadata, messageMetadata).agent);
        // The reason was written by another process, from whatever its libraries said: an address in it
        // (`connect ECONNREFUSED 10.0.0.5:6379`) is withheld from the client.
        const reason = withoutAddresses(text);
        const error = new EnsembleError(ErrorCode.UpstreamError, reason === '' ? `${agent} failed` : `${agent} failed: ${reason}`, {
          wireCode: 'agent_failed',
          details: this.#errorDetails(),
        });
        return this.#fail(error, explicit === undefined ? undefined : attributed(explicit), stateName, eventMetadata, messageMetadata);
      }
      case TaskState.TASK_STATE_CANCELED: {
        const message = text === '' ? 'The task was canceled before it finished' : `The task was canceled: ${withoutAddresses(text)}`;
        const error = new EnsembleError(ErrorCode.Cancelled, message, { wireCode: 'task_canceled', details: this.#errorDetails() });
        return this.#fail(error, explicit === undefined ? undefined : attributed(explicit), stateName, eventMetadata, messageMetadata);
      }
      case TaskState.TASK_STATE_SUBMITTED:
      case TaskState.TASK_STATE_WORKING:
      case TaskState.TASK_STATE_UNSPECIFIED:
      case TaskState.UNRECOGNIZED: {
        if (explicit !== undefined) return [this.#reasoningChunk(attributed(explicit))];
        if (text !== '') return [this.#reasoningChunk(attributed({ type: 'status', message: text, metadata: { state: stateName } }))];
        // A bare state change is announced once per agent/node: repeats carry no news.
        const attribution = readAttribution(eventMetadata, messageMetadata);
        const key = `${attribution.agent ?? ''}\u0000${attribution.node ?? ''}`;
        if (this.#announcedStates.get(key) === state || state === TaskState.TASK_STATE_UNSPECIFIED || state === TaskState.UNRECOGNIZED) return [];
        this.#announcedStates.set(key, state);
        return [this.#reasoningChunk(attributed({ type: 'status', message: stateName, metadata: { state: stateName } }))];
      }
    }
  }

  /** The last chunk of a turn that did not succeed: explanation as content plus the OpenAI error object. */
  #fail(
    error: EnsembleError,
    explicit: ReasoningEvent | undefined,
    stateName: TaskStateName | undefined,
    ...metadata: A2AMetadata[]
  ): EnsembleChatCompletionChunk[] {
    this.#result.error = error;
    const derived: ReasoningEvent = { type: 'error', message: error.message, metadata: { ...(stateName === undefined ? {} : { state: stateName }), code: error.wireCode } };
    const event = this.#attribute(explicit ?? derived, ...metadata);
    const last = this.#chunk({ content: this.#paragraph(`Error: ${error.message}`) }, 'stop');
    this.#finished = true;
    return [this.#reasoningChunk(event), { ...last, error: toOpenAIErrorBody(error).error }];
  }

  #attribute(event: ReasoningEvent, ...metadata: A2AMetadata[]): ReasoningEvent {
    const attribution = readAttribution(...metadata);
    const agent = event.agent ?? attribution.agent ?? this.#options.agent;
    const node = event.node ?? attribution.node;
    const step = event.step ?? attribution.step;
    // A workflow's events are numbered by their log position (the only numbering); an event derived
    // here from a bare state takes the position of the update it came from. Elsewhere: a counter.
    // A position is used once: a second event from the same update (or one from `finish()`) counts on.
    const position = this.#position !== undefined && this.#position >= this.#sequence ? this.#position : undefined;
    const sequence = event.sequence ?? position ?? this.#sequence;
    this.#sequence = Math.max(this.#sequence, sequence) + 1;
    return {
      ...event,
      ...(agent === undefined ? {} : { agent }),
      ...(node === undefined ? {} : { node }),
      ...(step === undefined ? {} : { step }),
      sequence,
    };
  }

  #noteIds(taskId: string, contextId: string): void {
    if (taskId !== '') this.#result.taskId = taskId;
    if (contextId !== '') this.#result.contextId = contextId;
  }

  #noteUsage(...sources: A2AMetadata[]): void {
    for (const source of sources) {
      const usage = readUsage(source);
      if (usage !== undefined) this.#result.usage = sumTokenUsage(this.#options.priorUsage, usage);
    }
  }

  #errorDetails(): Record<string, unknown> {
    return { task_id: this.#result.taskId, context_id: this.#result.contextId };
  }

  #agentLabel(agent: string | undefined): string {
    const name = agent ?? this.#options.agent;
    return name === undefined ? 'The agent' : `Agent "${name}"`;
  }

  /** Starts text from a new artifact (or message) on a new paragraph so answers are not glued together. */
  #separated(text: string, sourceId: string): string {
    const switched = this.#lastArtifactId !== undefined && this.#lastArtifactId !== sourceId;
    this.#lastArtifactId = sourceId;
    return switched ? this.#paragraph(text) : text;
  }

  #paragraph(text: string): string {
    return this.#contentSent ? `\n\n${text}` : text;
  }

  #contentChunk(content: string): EnsembleChatCompletionChunk {
    this.#contentSent = true;
    return this.#chunk({ content }, null);
  }

  #reasoningChunk(event: ReasoningEvent): EnsembleChatCompletionChunk {
    const field = this.#options.reasoningField ?? DEFAULT_REASONING_TEXT_FIELD;
    return this.#chunk({ reasoning_event: event, ...(field === 'none' ? {} : { [field]: reasoningLine(event) }) }, null);
  }

  #finishChunk(reason: FinishReason): EnsembleChatCompletionChunk {
    this.#result.finishReason = reason;
    return this.#chunk({}, reason);
  }

  #chunk(delta: EnsembleChunkDelta, finishReason: FinishReason | null): EnsembleChatCompletionChunk {
    if (finishReason !== null) this.#result.finishReason = finishReason;
    // OpenAI sends the role once, on the first chunk.
    const withRole: EnsembleChunkDelta = this.#roleSent ? delta : { role: 'assistant', ...delta };
    this.#roleSent = true;
    // As OpenAI does with `include_usage`: every chunk but the last has `usage: null`.
    return {
      ...this.#envelope(),
      choices: [{ index: 0, delta: withRole, finish_reason: finishReason, logprobs: null }],
      ...(this.#options.includeUsage === true ? { usage: null } : {}),
    };
  }

  #envelope(): Pick<ChatCompletionChunk, 'id' | 'object' | 'created' | 'model'> {
    return { id: this.#options.id, object: 'chat.completion.chunk', created: this.#options.created, model: this.#options.model };
  }
}

/** `code` of an `{ error: { code } }` data part of a status message, if it has one. */
function statusErrorCode(message: Message | undefined): string | undefined {
  for (const part of message?.parts ?? []) {
    if (part.content?.$case !== 'data') continue;
    const error: unknown = isRecord(part.content.value) ? part.content.value['error'] : undefined;
    if (isRecord(error) && typeof error['code'] === 'string' && error['code'] !== '') return error['code'];
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function statusText(message: Message | undefined): string {
  if (message === undefined) return '';
  const text = plainText(message.parts);
  return text === '' ? partsToText(message.parts) : text;
}

/**
 * The assistant message of a non-streamed answer with the progress of the stream: every reasoning event
 * in order, and their lines joined in `reasoning_content` (or `reasoning`, as configured).
 */
export type EnsembleChatCompletionMessage = ChatCompletionMessage & {
  reasoning_events: ReasoningEvent[];
  reasoning_content?: string;
  reasoning?: string;
};

/** A `chat.completion` whose message carries the reasoning gathered from the stream. */
export type EnsembleChatCompletion = Omit<ChatCompletion, 'choices'> & {
  choices: (Omit<ChatCompletion.Choice, 'message'> & { message: EnsembleChatCompletionMessage })[];
};

/** The reasoning event a chunk carries (in `choices[0].delta.reasoning_event`), if any. */
export function reasoningEventOf(chunk: { choices: readonly { delta?: object }[] }): ReasoningEvent | undefined {
  const delta = chunk.choices[0]?.delta as EnsembleChunkDelta | undefined;
  return delta?.reasoning_event;
}
