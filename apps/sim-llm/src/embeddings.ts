import { type EmbeddingRequest, type EmbeddingResponse, EnsembleError, ErrorCode } from '@ensemble/protocol';
import { LEXICAL_DEFAULT_DIMENSION, LexicalEmbedder } from '@ensemble/vectors/lexical';

import { approxTokens } from './tokens.js';

/**
 * `POST /v1/embeddings`, answered with Ensemble's lexical embedder: deterministic vectors (same text, same
 * vector, on every machine), so `OpenAIEmbedder` pointed at sim-llm works offline and agrees with the
 * in-process `LexicalEmbedder` of the same dimension. Any model id is accepted and echoed back; vectors
 * have `dimensions` entries when the request sets it, 384 otherwise. Lexical, not semantic: see
 * `@ensemble/vectors`.
 */
export function createEmbeddings(body: EmbeddingRequest): EmbeddingResponse {
  const texts = inputTexts(body.input);
  const embedder = new LexicalEmbedder({ dimension: body.dimensions ?? LEXICAL_DEFAULT_DIMENSION });
  const base64 = body.encoding_format === 'base64';
  let tokens = 0;
  const data = texts.map((text, index) => {
    tokens += approxTokens(text);
    const vector = embedder.embedOne(text);
    return { object: 'embedding' as const, index, embedding: base64 ? toBase64Float32(vector) : vector };
  });
  return { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

function inputTexts(input: EmbeddingRequest['input']): string[] {
  // One text, or one token array (a flat list of numbers), is a single input named `input`.
  const single = typeof input === 'string' || input.every((item) => typeof item === 'number');
  const items: unknown[] = single ? [input] : input;
  return items.map((item, index) => {
    const param = single ? 'input' : `input.${index}`;
    if (typeof item !== 'string') {
      // Token ids only mean something to the tokenizer of a real model; sim-llm has none.
      throw new EnsembleError(ErrorCode.InvalidRequest, `sim-llm embeds text only: '${param}' is a token array; send strings`, {
        details: { param },
        wireCode: 'unsupported_value',
      });
    }
    // OpenAI refuses empty strings in `input` the same way.
    if (item.length === 0) {
      throw new EnsembleError(ErrorCode.InvalidRequest, `'${param}' must not be empty`, { details: { param }, wireCode: 'invalid_value' });
    }
    return item;
  });
}

/** OpenAI's base64 encoding: the vector as little-endian float32 bytes. */
function toBase64Float32(vector: readonly number[]): string {
  const view = new DataView(new ArrayBuffer(vector.length * 4));
  vector.forEach((value, index) => view.setFloat32(index * 4, value, true));
  return Buffer.from(view.buffer).toString('base64');
}
