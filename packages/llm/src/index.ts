export { createLlmClient, fromOpenAIError, structuredCompletion, textCompletion } from './llm-client.js';
export type { LlmClientConfig, StructuredCompletionRequest } from './llm-client.js';
