export { CLASSIFIER_SCHEMA_NAME, CLASSIFIER_SYSTEM_PROMPT, LlmRoutingClassifier } from './classifier.js';
export type { ClassifiedConversation, LlmRoutingClassifierOptions, RoutingClassifier } from './classifier.js';
export { conversationKey, conversationText, tailOfConversation } from './conversation.js';
export { formatRoutingDecisionHeader, parseRoutingDecisionHeader } from './decision-header.js';
export { createLocalRoutingClassifier, defaultLocalRoutingModel } from './local/local-classifier.js';
export type { LocalRoutingClassifier, LocalRoutingClassifierOptions, LocalRoutingVerdict } from './local/local-classifier.js';
export { LocalRoutingModel, orchestrationProbability } from './local/model.js';
export {
  DEFAULT_TRAINING_OPTIONS,
  RoutingExample,
  crossValidatedProbabilities,
  examplesDigest,
  formatLocalRoutingModel,
  parseRoutingExamples,
  trainLocalRoutingModel,
} from './local/train.js';
export type { TrainingOptions } from './local/train.js';
export { createRouter } from './router.js';
export type { RouteInput, Router, RouterOptions, RoutingCacheOptions } from './router.js';
export {
  clientControlledFeature,
  decideByRules,
  parseRoutingMode,
  parseSkipOrchestration,
} from './rules.js';
export type { HeaderLookup } from './rules.js';
