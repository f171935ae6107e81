import { createHash } from 'node:crypto';

import { type ChatMessage, messageText } from '@ensemble/protocol';

/**
 * The conversation as the classifier reads it: one `role: text` block per message, non-text parts
 * (images, audio) left out. The same text is the routing cache key, so identical conversations share
 * a decision whatever their other request fields are.
 */
export function conversationText(messages: readonly ChatMessage[]): string {
  return messages.map((message) => `${message.role}: ${messageText(message.content)}`).join('\n');
}

/** A fixed-size cache key for a conversation (SHA-256, hex), so huge prompts do not become huge keys. */
export function conversationKey(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Keeps the end of a long conversation (the latest turns decide what is being asked) within `maxChars`,
 * marking the cut so the model knows context is missing.
 */
export function tailOfConversation(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const marker = '[earlier conversation omitted]\n';
  return marker + text.slice(text.length - Math.max(0, maxChars - marker.length));
}
