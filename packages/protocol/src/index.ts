export { EnsembleError, ErrorCode, toEnsembleError } from './errors.js';
export type { EnsembleErrorOptions } from './errors.js';
export {
  ChatCompletionRequest,
  ChatMessage,
  ChatMessageContent,
  OpenAIErrorBodySchema,
  messageText,
  toOpenAIErrorBody,
} from './openai.js';
export type { OpenAIErrorBody } from './openai.js';
export { ClassifierVerdict, RoutingDecision, RoutingMode, RoutingPath, RoutingSource } from './routing.js';
export { ReasoningEvent, ReasoningEventType } from './reasoning-event.js';
