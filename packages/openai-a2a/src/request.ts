import { randomUUID } from 'node:crypto';

import { type Message, Role } from '@a2a-js/sdk';
import { type ChatCompletionRequest, ChatMessage, messageText } from '@ensemble/protocol';
import { dataPart, textPart } from '@ensemble/a2a/parts';

import { EnsembleMetadataKey, OPENAI_MESSAGES_PART_KIND } from './metadata.js';
import { plainText } from './parts.js';

export interface ToA2AMessageOptions {
  /** The session id; becomes the A2A `contextId`, so every turn of one conversation shares a context. */
  sessionId?: string;
  /** Continues an existing task, e.g. the answer to an `auth-required` approval request. */
  taskId?: string;
  /** The message id; a fresh UUID when omitted (pass one for idempotent retries). */
  messageId?: string;
  /** Extra message metadata (for example attribution), merged over the request options entry. */
  metadata?: Record<string, unknown>;
}

/** Request fields that are transport details of the OpenAI call, not part of what the agent is asked. */
const TRANSPORT_FIELDS = new Set(['messages', 'stream', 'stream_options']);

/**
 * An OpenAI chat request as an A2A user message, without losing anything:
 * - a text part with the last user turn (what a plain A2A agent should answer);
 * - a data part (`ensemble.partKind: openai.messages`) with the full `messages` array: system,
 *   assistant and tool turns, names, tool calls, multimodal content;
 * - the request options (model, temperature, tools, response_format, unknown provider fields...) in
 *   the message metadata under `ensemble.openai.request`.
 * The reverse is `readChatConversation`.
 */
export function chatRequestToA2AMessage(request: ChatCompletionRequest, options: ToA2AMessageOptions = {}): Message {
  const requestOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    if (!TRANSPORT_FIELDS.has(key) && value !== undefined) requestOptions[key] = value;
  }
  const prompt = lastUserText(request.messages);
  const parts = [
    ...(prompt === '' ? [] : [textPart(prompt)]),
    dataPart({ messages: request.messages }, { [EnsembleMetadataKey.partKind]: OPENAI_MESSAGES_PART_KIND }),
  ];
  return {
    messageId: options.messageId ?? randomUUID(),
    contextId: options.sessionId ?? '',
    taskId: options.taskId ?? '',
    role: Role.ROLE_USER,
    parts,
    metadata: { [EnsembleMetadataKey.openaiRequest]: requestOptions, ...options.metadata },
    extensions: [],
    referenceTaskIds: [],
  };
}

/** Text of the last user turn; when there is none (a tool-result turn), of the last message. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (message?.role === 'user') return messageText(message.content);
  }
  return messageText(messages.at(-1)?.content);
}

export interface ChatConversation {
  /** The OpenAI conversation; a single user turn built from the text parts when none was attached. */
  messages: ChatMessage[];
  /** The OpenAI request options (model, temperature, ...); empty when the sender was not Ensemble. */
  options: Record<string, unknown>;
}

/**
 * Recovers the OpenAI conversation from an A2A message (the inverse of `chatRequestToA2AMessage`).
 * Messages from plain A2A clients work too: their text parts become one user turn. A conversation
 * part that does not validate is ignored rather than trusted.
 */
export function readChatConversation(message: Message): ChatConversation {
  const rawOptions: unknown = message.metadata?.[EnsembleMetadataKey.openaiRequest];
  const options = isRecord(rawOptions) ? { ...rawOptions } : {};
  for (const part of message.parts) {
    if (part.content?.$case !== 'data' || part.metadata?.[EnsembleMetadataKey.partKind] !== OPENAI_MESSAGES_PART_KIND) continue;
    const value: unknown = part.content.value;
    const parsed = ChatMessage.array().min(1).safeParse(isRecord(value) ? value['messages'] : undefined);
    if (parsed.success) return { messages: wellFormed(parsed.data), options };
  }
  const text = wellFormed(plainText(message.parts));
  return { messages: text === '' ? [] : [{ role: 'user', content: text }], options };
}

/** A UTF-16 surrogate without its other half (valid in a JSON string escape, not as Unicode text). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `value` with every lone surrogate in its strings replaced by U+FFFD, as UTF-8 encoding does on the
 * passthrough path. JSON lets a client send `"\ud800"`; stores and parsers downstream (Redis' cjson in
 * Lua scripts) refuse it, which would fail the workflow over one bad character.
 */
function wellFormed<T>(value: T): T {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\ufffd') as T;
  if (Array.isArray(value)) return value.map((item: unknown) => wellFormed(item)) as T;
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, wellFormed(item)])) as T;
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
