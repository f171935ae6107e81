import type { Message, Task } from '@a2a-js/sdk';
import type { EnsembleError, ReasoningEvent } from '@ensemble/protocol';

import {
  type A2AEvent,
  type ChunkTranslatorOptions,
  type EnsembleChatCompletion,
  type FinishReason,
  type TurnResult,
  createChunkTranslator,
} from './chunks.js';
import { DEFAULT_REASONING_TEXT_FIELD } from './reasoning-text.js';

export interface AggregatedCompletion {
  /** The whole answer as one `chat.completion` (its message with `reasoning_events` and the reasoning text). */
  completion: EnsembleChatCompletion;
  /**
   * Set when the task failed, was canceled, or its events ended before it did. A non-streaming edge
   * should answer with this error (`toOpenAIErrorBody(error)`, status `error.status`: 502 for a failed
   * agent, 499 for a canceled task) instead of the completion, whose content then only explains it.
   */
  error: EnsembleError | undefined;
  result: TurnResult;
}

/**
 * Folds a whole A2A exchange into one OpenAI `chat.completion` for non-streaming clients: the events of
 * a stream (SDK `StreamResponse`s or `@ensemble/a2a` client events), the final `Task` of a blocking
 * `SendMessage`, or the agent's `Message` reply. It runs the same translator as streaming, so both
 * paths show the same content, reasoning events and outcome: the events in order in
 * `choices[0].message.reasoning_events`, their text lines joined in `message.reasoning_content` (or the
 * configured `reasoningField`; absent with `none` or when there was no progress).
 */
export function aggregateCompletion(
  input: readonly A2AEvent[] | Task | Message,
  options: Omit<ChunkTranslatorOptions, 'includeUsage'>,
): AggregatedCompletion {
  const translator = createChunkTranslator(options);
  const chunks = [...asEvents(input).flatMap((event) => translator.translate(event)), ...translator.finish()];

  let content = '';
  let refusal = '';
  let reasoning = '';
  let finishReason: FinishReason = 'stop';
  const reasoningEvents: ReasoningEvent[] = [];
  const field = options.reasoningField ?? DEFAULT_REASONING_TEXT_FIELD;
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      if (choice.delta.reasoning_event !== undefined) reasoningEvents.push(choice.delta.reasoning_event);
      if (field !== 'none') reasoning += choice.delta[field] ?? '';
      content += choice.delta.content ?? '';
      refusal += choice.delta.refusal ?? '';
      if (choice.finish_reason !== null) finishReason = choice.finish_reason;
    }
  }
  const result = translator.result;
  const completion: EnsembleChatCompletion = {
    id: options.id,
    object: 'chat.completion',
    created: options.created,
    model: options.model,
    choices: [
      {
        index: 0,
        // As OpenAI does: a refusal comes with `content: null` unless the agent also produced an answer.
        message: {
          role: 'assistant',
          content: refusal !== '' && content === '' ? null : content,
          refusal: refusal === '' ? null : refusal,
          ...(field === 'none' || reasoning === '' ? {} : { [field]: reasoning }),
          reasoning_events: reasoningEvents,
        },
        finish_reason: finishReason,
        logprobs: null,
      },
    ],
    ...(result.usage === undefined ? {} : { usage: result.usage }),
  };
  return { completion, error: result.error, result };
}

function asEvents(input: readonly A2AEvent[] | Task | Message): readonly A2AEvent[] {
  if (isEventList(input)) return input;
  return 'messageId' in input ? [{ payload: { $case: 'message', value: input } }] : [{ payload: { $case: 'task', value: input } }];
}

function isEventList(input: readonly A2AEvent[] | Task | Message): input is readonly A2AEvent[] {
  return Array.isArray(input);
}
