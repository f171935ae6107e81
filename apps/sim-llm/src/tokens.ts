import { type ChatCompletionRequest, messageText } from '@ensemble/protocol';

/**
 * Deterministic token accounting. Not a tokenizer: about four characters per token, the rule of thumb
 * OpenAI documents for English, plus a small per-message overhead like the chat format's.
 */
export function approxTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

const PER_MESSAGE_OVERHEAD = 3;
const REPLY_PRIMING = 3;

export function promptTokens(body: ChatCompletionRequest): number {
  let total = REPLY_PRIMING;
  for (const message of body.messages) {
    total += PER_MESSAGE_OVERHEAD + approxTokens(messageText(message.content));
    if (message.tool_calls !== undefined) total += approxTokens(JSON.stringify(message.tool_calls));
  }
  if (body.tools !== undefined) total += approxTokens(JSON.stringify(body.tools));
  return total;
}

/** Splits text into streamable pieces, one word each with its trailing whitespace; joined they give the text back. */
export function splitWords(text: string): string[] {
  const pieces = text.match(/\s*\S+\s*/g);
  if (pieces === null) return text.length === 0 ? [] : [text];
  return pieces;
}

/** Splits a tool call's JSON arguments into fragments, as a model streams them. */
export function splitFragments(text: string, size = 12): string[] {
  const fragments: string[] = [];
  for (let start = 0; start < text.length; start += size) fragments.push(text.slice(start, start + size));
  return fragments;
}
