import { type ChatMessage, type RoutingPath, messageText } from '@ensemble/protocol';

import shippedModel from './local-model.json' with { type: 'json' };
import { LocalRoutingModel, orchestrationProbability } from './model.js';
import { obviousPassthrough } from './obvious-cases.js';

/** What the local stage made of a conversation. */
export interface LocalRoutingVerdict {
  /** The route when the local stage is sure enough; `undefined` hands the request to the LLM classifier. */
  path: RoutingPath | undefined;
  /** How sure it is of the more likely route (0.5 to 1; 1 for a rule); `undefined` when it did not score. */
  confidence: number | undefined;
  /** Why, in a few words (it reaches the client in `X-Routing-Decision` when the stage decides). */
  reason: string;
}

/**
 * The router's first stage: decides the obvious cases in microseconds, without a model call, and
 * abstains otherwise. Synchronous, no I/O, bounded work whatever the conversation's size.
 */
export interface LocalRoutingClassifier {
  classify(messages: readonly ChatMessage[]): LocalRoutingVerdict;
}

export interface LocalRoutingClassifierOptions {
  /** Decide only when the model's probability of the chosen route is at least this (0.5 to 1). */
  threshold: number;
  /** The model; default the one trained on `data/routing/prompts.jsonl` and shipped with this package. */
  model?: LocalRoutingModel;
}

/** Follow-ups shorter than this many words ("yes", "do it", "same for Berlin") mean nothing without the conversation. */
const MIN_FOLLOW_UP_WORDS = 4;

let defaultModel: LocalRoutingModel | undefined;

/** The shipped model (validated once, on first use). */
export function defaultLocalRoutingModel(): LocalRoutingModel {
  defaultModel ??= LocalRoutingModel.parse(shippedModel);
  return defaultModel;
}

/**
 * Rules for the obvious cases, then the local model on the latest user message. It abstains on a short
 * follow-up in a longer conversation (it reads one message; the LLM classifier reads the conversation),
 * and whenever the model's confidence is below the threshold.
 */
export function createLocalRoutingClassifier(options: LocalRoutingClassifierOptions): LocalRoutingClassifier {
  if (!(options.threshold >= 0.5 && options.threshold <= 1)) throw new RangeError(`threshold must be between 0.5 and 1, got ${options.threshold}`);
  const model = options.model === undefined ? defaultLocalRoutingModel() : LocalRoutingModel.parse(options.model);
  const threshold = options.threshold;

  return {
    classify(messages) {
      const lastUser = messages.findLastIndex((message) => message.role === 'user');
      if (lastUser === -1) return { path: undefined, confidence: undefined, reason: 'no user message' };
      const text = messageText(messages[lastUser]!.content);
      const followUp = messages.slice(0, lastUser).some((message) => message.role === 'assistant');
      if (followUp && wordCount(text) < MIN_FOLLOW_UP_WORDS) {
        return { path: undefined, confidence: undefined, reason: 'a short follow-up: its meaning depends on the conversation' };
      }
      const obvious = obviousPassthrough(text);
      if (obvious !== undefined) return { path: 'passthrough', confidence: 1, reason: obvious };

      const probability = orchestrationProbability(model, text);
      const path: RoutingPath = probability >= 0.5 ? 'orchestration' : 'passthrough';
      const confidence = path === 'orchestration' ? probability : 1 - probability;
      const shown = confidence.toFixed(2);
      if (confidence < threshold) return { path: undefined, confidence, reason: `local model unsure (${path} at ${shown} < ${threshold})` };
      return {
        path,
        confidence,
        reason: path === 'orchestration' ? `local model: a multi-step or tool-using request (${shown})` : `local model: one reply can answer it (${shown})`,
      };
    },
  };
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((word) => word !== '').length;
}
