import { Tiktoken } from 'js-tiktoken/lite';
import cl100kBase from 'js-tiktoken/ranks/cl100k_base';

let encoder: Tiktoken | undefined;

/**
 * Token count with OpenAI's cl100k_base encoding (what text-embedding-3 and ada-002 use). Other models
 * tokenise differently, so limits are approximate for them; that is why chunk limits leave headroom.
 * The encoder's ranks are loaded on first use (about 1 MB).
 */
export function countTokens(text: string): number {
  encoder ??= new Tiktoken(cl100kBase);
  return encoder.encode(text).length;
}
