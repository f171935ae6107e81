import type { ChatCompletionChunk } from 'openai/resources/chat/completions';

/** A tool call the model asked for, assembled from its streamed fragments. */
export interface RequestedToolCall {
  id: string;
  name: string;
  /** The raw JSON text the model wrote (parsed, and checked, only when the call runs). */
  arguments: string;
}

export interface TokenTotals {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** What one model turn came to. */
export interface ModelTurn {
  /** Text streamed to the user as (part of) the answer. */
  answer: string;
  /** Text the model wrote after deciding to call tools: its reasoning, shown as a `thinking` event. */
  thinking: string;
  toolCalls: RequestedToolCall[];
  finishReason: string | undefined;
  usage: TokenTotals | undefined;
}

/**
 * Folds a streamed chat completion into a `ModelTurn`, deciding as the deltas arrive what the user
 * sees live. Text that comes before any tool call is the answer and is handed back at once (so it can
 * be streamed token by token); text that follows a tool call is the model thinking aloud before
 * acting, kept for a `thinking` event. Tool call fragments are merged by `index`, as OpenAI streams them.
 */
export class TurnAccumulator {
  private mode: 'undecided' | 'answer' | 'tools' = 'undecided';
  private answer = '';
  private thinking = '';
  private finishReason: string | undefined;
  private usage: TokenTotals | undefined;
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();

  /** @param fallbackIdPrefix used for calls whose id the provider did not send (ids must be unique per task). */
  constructor(private readonly fallbackIdPrefix: string) {}

  /** Takes one chunk; returns answer text to stream now ('' when there is none). */
  add(chunk: ChatCompletionChunk): string {
    if (chunk.usage) {
      const { prompt_tokens, completion_tokens } = chunk.usage;
      this.usage = { prompt_tokens, completion_tokens, total_tokens: chunk.usage.total_tokens ?? prompt_tokens + completion_tokens };
    }
    let fresh = '';
    for (const choice of chunk.choices) {
      if (choice.index !== 0) continue;
      const delta = choice.delta;
      for (const fragment of delta.tool_calls ?? []) {
        if (this.mode === 'undecided') this.mode = 'tools';
        const call = this.calls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
        if (fragment.id) call.id = fragment.id;
        if (fragment.function?.name) call.name += fragment.function.name;
        if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
        this.calls.set(fragment.index, call);
      }
      const text = delta.content ?? '';
      if (text !== '') {
        if (this.mode === 'tools') {
          this.thinking += text;
        } else {
          this.mode = 'answer';
          this.answer += text;
          fresh += text;
        }
      }
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    return fresh;
  }

  result(): ModelTurn {
    const toolCalls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({ id: call.id === '' ? `${this.fallbackIdPrefix}_${index}` : call.id, name: call.name, arguments: call.arguments }));
    return { answer: this.answer, thinking: this.thinking.trim(), toolCalls, finishReason: this.finishReason, usage: this.usage };
  }
}

/** Adds two running totals (either may be missing). */
export function addUsage(total: TokenTotals | undefined, more: TokenTotals | undefined): TokenTotals | undefined {
  if (more === undefined) return total;
  if (total === undefined) return { ...more };
  return {
    prompt_tokens: total.prompt_tokens + more.prompt_tokens,
    completion_tokens: total.completion_tokens + more.completion_tokens,
    total_tokens: total.total_tokens + more.total_tokens,
  };
}
