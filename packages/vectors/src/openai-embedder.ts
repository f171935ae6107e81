import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { createLlmClient, fromOpenAIError } from '@ensemble/llm';
import { SpanKind, inSpan } from '@ensemble/telemetry';
import type OpenAI from 'openai';

import type { Embedder } from './embedder.js';

export interface OpenAIEmbedderOptions {
  /** An `openai` SDK client (see `createLlmClient`); its `maxRetries` governs retries of 429/5xx/network errors. */
  client: OpenAI;
  model: string;
  /** The model's output dimension. */
  dimension: number;
  /**
   * Send `dimensions` with every request, asking the model to shorten its vectors (OpenAI text-embedding-3
   * supports it; many servers reject the parameter). Default false.
   */
  requestDimensions?: boolean;
  /** Texts per request (default 64). Large batches amortise latency; providers cap them (OpenAI: 2048). */
  batchSize?: number;
}

export interface CreateOpenAIEmbedderOptions extends Omit<OpenAIEmbedderOptions, 'client' | 'dimension'> {
  client?: OpenAI;
  /** Used when `client` is not given. */
  baseURL?: string | undefined;
  apiKey?: string | undefined;
  /** When omitted, one probe request learns it from the model. */
  dimension?: number | undefined;
}

/**
 * Embeddings from any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Ollama, vLLM, TEI, sim-llm)
 * through the official `openai` SDK. Batches requests, keeps the input order (by each item's `index`),
 * and checks every vector's length, so a server that silently changed model is caught here.
 */
export class OpenAIEmbedder implements Embedder {
  readonly model: string;
  readonly dimension: number;
  readonly #client: OpenAI;
  readonly #requestDimensions: boolean;
  readonly #batchSize: number;

  constructor(options: OpenAIEmbedderOptions) {
    if (!Number.isInteger(options.dimension) || options.dimension < 1) {
      throw new EnsembleError(ErrorCode.InvalidRequest, `Embedding dimension must be a positive integer (got ${options.dimension})`);
    }
    this.model = options.model;
    this.dimension = options.dimension;
    this.#client = options.client;
    this.#requestDimensions = options.requestDimensions ?? false;
    this.#batchSize = options.batchSize ?? 64;
  }

  /** Builds the client when needed and, without a `dimension`, asks the model for one vector to learn it. */
  static async create(options: CreateOpenAIEmbedderOptions): Promise<OpenAIEmbedder> {
    const client = options.client ?? createLlmClient({ baseURL: options.baseURL, apiKey: options.apiKey });
    let dimension = options.dimension;
    if (dimension === undefined) {
      const probe = new OpenAIEmbedder({ ...options, client, dimension: 1 });
      const [vector] = await probe.#request(['dimension probe']);
      dimension = vector?.length ?? 0;
    }
    return new OpenAIEmbedder({ ...options, client, dimension });
  }

  async embed(texts: readonly string[], options: { signal?: AbortSignal } = {}): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += this.#batchSize) {
      const batch = await this.#request(texts.slice(start, start + this.#batchSize), options.signal);
      for (const vector of batch) {
        if (vector.length !== this.dimension) {
          throw new EnsembleError(
            ErrorCode.UpstreamError,
            `Embedding model ${this.model} returned vectors of dimension ${vector.length}, expected ${this.dimension} (check EMBEDDING_DIMENSION)`,
            { wireCode: 'embedding_dimension_mismatch' },
          );
        }
        vectors.push(vector);
      }
    }
    return vectors;
  }

  async #request(texts: readonly string[], signal?: AbortSignal): Promise<number[][]> {
    return inSpan(
      'embeddings',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'openinference.span.kind': 'EMBEDDING', 'embedding.model_name': this.model, 'embedding.batch_size': texts.length },
      },
      async () => {
        let response: OpenAI.CreateEmbeddingResponse;
        try {
          response = await this.#client.embeddings.create(
            {
              model: this.model,
              // Some servers treat an empty string as an error; a single space embeds to "nothing" everywhere.
              input: texts.map((text) => (text.length === 0 ? ' ' : text)),
              encoding_format: 'float',
              ...(this.#requestDimensions ? { dimensions: this.dimension } : {}),
            },
            { signal },
          );
        } catch (error) {
          throw fromOpenAIError(error, `Embedding request to ${this.model}`);
        }
        if (response.data.length !== texts.length) {
          throw new EnsembleError(ErrorCode.UpstreamError, `Embedding model ${this.model} returned ${response.data.length} vectors for ${texts.length} inputs`);
        }
        const ordered = new Array<number[]>(texts.length);
        for (const item of response.data) ordered[item.index] = item.embedding;
        // A plain loop, not `some()`: `some()` skips the holes we are looking for.
        let complete = ordered.length === texts.length;
        for (let index = 0; index < ordered.length && complete; index += 1) complete = ordered[index] !== undefined;
        if (!complete) {
          throw new EnsembleError(ErrorCode.UpstreamError, `Embedding model ${this.model} returned vectors with missing or out-of-range indexes`);
        }
        return ordered;
      },
    );
  }
}
