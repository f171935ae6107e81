export { createLlmClient, fromOpenAIError, structuredCompletion, textCompletion, upstreamReadiness } from './llm-client.js';
export type { LlmClientConfig, StructuredCompletionRequest } from './llm-client.js';
