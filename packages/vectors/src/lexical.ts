// Light entry point: the lexical embedder and its text normalisation, with no database or SDK imports
// (sim-llm serves `/v1/embeddings` with it).
export { LEXICAL_DEFAULT_DIMENSION, LEXICAL_MODEL, LexicalEmbedder } from './lexical-embedder.js';
export type { LexicalEmbedderOptions } from './lexical-embedder.js';
export type { Embedder } from './embedder.js';
