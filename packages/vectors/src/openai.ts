// Remote embeddings through the `openai` SDK (pulls in @ensemble/llm and telemetry, hence its own entry).
export { OpenAIEmbedder } from './openai-embedder.js';
export type { CreateOpenAIEmbedderOptions, OpenAIEmbedderOptions } from './openai-embedder.js';
export { createEmbedder } from './create-embedder.js';
export type { EmbedderConfig } from './create-embedder.js';
