import { z } from 'zod';

import { type EnsembleError, ErrorCode } from './errors.js';

/**
 * The OpenAI Chat Completions request, validated at the gateway's edge. Only the fields Ensemble reads
 * are typed strictly; everything else (provider-specific fields included) is kept as-is (`z.looseObject`)
 * and passed through untouched on the simple path.
 */
const TextContentPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const OtherContentPart = z.looseObject({ type: z.string() });
export const ChatMessageContent = z.union([z.string(), z.array(z.union([TextContentPart, OtherContentPart]))]);

export const ChatMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: ChatMessageContent.nullable().optional(),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
  tool_calls: z.array(z.looseObject({ id: z.string(), type: z.string() })).optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const ChatCompletionRequest = z.looseObject({
  model: z.string().min(1),
  messages: z.array(ChatMessage).min(1),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  n: z.number().int().min(1).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  tool_choice: z.unknown().optional(),
  response_format: z.looseObject({ type: z.enum(['text', 'json_object', 'json_schema']) }).optional(),
  user: z.string().optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** Plain text of a message's content; non-text parts are ignored. */
export function messageText(content: ChatMessage['content']): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part) => (part.type === 'text' && typeof part['text'] === 'string' ? part['text'] : ''))
    .filter((text) => text.length > 0)
    .join('\n');
}

/** The OpenAI error object: `{ error: { message, type, param, code } }`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const OPENAI_ERROR_TYPE: Record<ErrorCode, string> = {
  [ErrorCode.InvalidRequest]: 'invalid_request_error',
  [ErrorCode.Unauthorized]: 'authentication_error',
  [ErrorCode.Forbidden]: 'permission_error',
  [ErrorCode.NotFound]: 'not_found_error',
  [ErrorCode.Conflict]: 'conflict_error',
  [ErrorCode.PayloadTooLarge]: 'invalid_request_error',
  [ErrorCode.RateLimited]: 'rate_limit_error',
  [ErrorCode.UpstreamError]: 'upstream_error',
  [ErrorCode.UpstreamTimeout]: 'timeout_error',
  [ErrorCode.UpstreamUnavailable]: 'service_unavailable_error',
  [ErrorCode.Unavailable]: 'service_unavailable_error',
  [ErrorCode.NotImplemented]: 'not_implemented_error',
  [ErrorCode.Cancelled]: 'cancelled_error',
  [ErrorCode.Internal]: 'server_error',
};

export function toOpenAIErrorBody(error: EnsembleError): OpenAIErrorBody {
  const param = typeof error.details?.['param'] === 'string' ? error.details['param'] : null;
  // Internal errors never leak their message: it may carry implementation detail.
  const message = error.code === ErrorCode.Internal ? 'Internal server error' : error.message;
  return { error: { message, type: OPENAI_ERROR_TYPE[error.code], param, code: error.wireCode ?? error.code } };
}

/** Accepts anything that looks like an OpenAI error body (as forwarded from an upstream). */
export const OpenAIErrorBodySchema = z.object({
  error: z.looseObject({
    message: z.string(),
    type: z.string().nullable().optional(),
    param: z.string().nullable().optional(),
    code: z.union([z.string(), z.number()]).nullable().optional(),
  }),
});
