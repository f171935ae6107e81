export { aggregateCompletion } from './aggregate.js';
export type { AggregatedCompletion } from './aggregate.js';
export { createChunkTranslator, reasoningEventOf, toStreamResponse } from './chunks.js';
export type {
  A2AEvent,
  ChunkTranslator,
  ChunkTranslatorOptions,
  EnsembleChatCompletion,
  EnsembleChatCompletionChunk,
  EnsembleChatCompletionMessage,
  EnsembleChunkChoice,
  EnsembleChunkDelta,
  FinishReason,
  TurnResult,
} from './chunks.js';
export { A2A_ENVELOPE_ALLOWANCE_BYTES, maxOrchestrationMessageBytes, orchestrationMessageBytes } from './limits.js';
export { EnsembleMetadataKey, OPENAI_MESSAGES_PART_KIND, readAttribution, readPosition, readReasoningEvent, readUsage } from './metadata.js';
export type { A2AMetadata, Attribution } from './metadata.js';
export { DEFAULT_REASONING_TEXT_FIELD, REASONING_TEXT_FIELDS, reasoningLine } from './reasoning-text.js';
export type { ReasoningTextField } from './reasoning-text.js';
export { partsToText, plainText } from './parts.js';
export { chatRequestToA2AMessage, lastUserText, readChatConversation } from './request.js';
export type { ChatConversation, ToA2AMessageOptions } from './request.js';
export { WorkflowReplay, endsTurn } from './workflow-replay.js';
export type { PositionedWorkflowEvent } from './workflow-replay.js';
