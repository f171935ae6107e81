import type { SimReply } from './sim-reply.js';
import type { SimRequest } from './sim-request.js';
import { approxTokens, promptTokens, splitFragments, splitWords } from './tokens.js';

export interface PlannedToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** What one reply sends, independent of streaming: both renderings come from this. */
export interface ReplyPlan {
  id: string;
  created: number;
  model: string;
  content: string | null;
  toolCalls: PlannedToolCall[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** Content pieces (words, argument fragments) as streamed; one piece counts as one token for pacing. */
  pieces: number;
}

let sequence = 0;

/** Builds the plan. Ids are sequential per process: deterministic for a given order of requests. */
export function planReply(request: SimRequest, reply: SimReply): ReplyPlan {
  sequence += 1;
  let content = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.content ?? null);
  const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
    id: `call_sim_${sequence}_${index}`,
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}),
  }));
  let finishReason: ReplyPlan['finishReason'] = toolCalls.length > 0 ? 'tool_calls' : 'stop';

  // Like a real model, a token limit cuts the text short and says so in finish_reason.
  const limit = request.body.max_completion_tokens ?? request.body.max_tokens ?? undefined;
  if (content !== null && toolCalls.length === 0 && limit !== undefined && approxTokens(content) > limit) {
    content = content.slice(0, limit * 4);
    finishReason = 'length';
  }

  const completionTokens = approxTokens(content ?? '') + toolCalls.reduce((sum, call) => sum + approxTokens(call.name) + approxTokens(call.arguments), 0);
  const prompt = promptTokens(request.body);
  const pieces = (content === null ? 0 : splitWords(content).length) + toolCalls.reduce((sum, call) => sum + 1 + splitFragments(call.arguments).length, 0);
  return {
    id: `chatcmpl-sim-${sequence}`,
    created: Math.floor(Date.now() / 1000),
    model: request.body.model,
    content,
    toolCalls,
    finishReason,
    usage: { prompt_tokens: prompt, completion_tokens: completionTokens, total_tokens: prompt + completionTokens },
    pieces,
  };
}

/** The non-streaming `chat.completion` object. */
export function completionBody(plan: ReplyPlan): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: plan.content, refusal: null };
  if (plan.toolCalls.length > 0) {
    message['tool_calls'] = plan.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  }
  return {
    id: plan.id,
    object: 'chat.completion',
    created: plan.created,
    model: plan.model,
    system_fingerprint: 'sim-llm',
    choices: [{ index: 0, message, logprobs: null, finish_reason: plan.finishReason }],
    usage: plan.usage,
  };
}

/**
 * The streamed rendering as SSE events, `[DONE]` excluded (the caller adds it unless the stream is cut):
 * a first chunk with `delta.role`, one chunk per word, per tool call a chunk with index/id/name followed
 * by argument fragments, a chunk with `finish_reason`, and with `include_usage` a last chunk with
 * `usage` and no choices, as OpenAI sends them.
 */
export function streamEvents(plan: ReplyPlan, includeUsage: boolean): string[] {
  const head = `{"id":${JSON.stringify(plan.id)},"object":"chat.completion.chunk","created":${plan.created},"model":${JSON.stringify(plan.model)},"system_fingerprint":"sim-llm","choices":`;
  const event = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    `data: ${head}[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finishReason === null ? 'null' : JSON.stringify(finishReason)}}]}\n\n`;

  const events = [event({ role: 'assistant', content: plan.content === null ? null : '', refusal: null })];
  if (plan.content !== null) for (const word of splitWords(plan.content)) events.push(event({ content: word }));
  plan.toolCalls.forEach((call, index) => {
    events.push(event({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const fragment of splitFragments(call.arguments)) events.push(event({ tool_calls: [{ index, function: { arguments: fragment } }] }));
  });
  events.push(event({}, plan.finishReason));
  if (includeUsage) events.push(`data: ${head}[],"usage":${JSON.stringify(plan.usage)}}\n\n`);
  return events;
}

export const DONE_EVENT = 'data: [DONE]\n\n';
