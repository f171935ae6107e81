import type { Embedder } from './embedder.js';
import { LEXICAL_DEFAULT_DIMENSION, LEXICAL_MODEL, LexicalEmbedder } from './lexical-embedder.js';
import { OpenAIEmbedder } from './openai-embedder.js';

export interface EmbedderConfig {
  /** `lexical` (or `ensemble-lexical-v1`): the offline lexical embedder. Anything else: an OpenAI-compatible model. */
  model: string;
  /** Lexical: the vector length (default 384). Remote: the model's dimension (probed when omitted). */
  dimension?: number | undefined;
  /** OpenAI-compatible base URL including `/v1` (default OpenAI's). */
  baseURL?: string | undefined;
  apiKey?: string | undefined;
  /** Send `dimensions` to the remote model (text-embedding-3 can shorten its vectors). */
  requestDimensions?: boolean;
}

/** The `Embedder` for a configuration (`EMBEDDING_MODEL`, `EMBEDDING_DIMENSION`, `EMBEDDING_BASE_URL`, `OPENAI_API_KEY`). */
export async function createEmbedder(config: EmbedderConfig): Promise<Embedder> {
  if (config.model === 'lexical' || config.model === LEXICAL_MODEL) {
    return new LexicalEmbedder({ dimension: config.dimension ?? LEXICAL_DEFAULT_DIMENSION });
  }
  return OpenAIEmbedder.create({
    model: config.model,
    dimension: config.dimension,
    baseURL: config.baseURL,
    apiKey: config.apiKey,
    ...(config.requestDimensions === undefined ? {} : { requestDimensions: config.requestDimensions }),
  });
}
