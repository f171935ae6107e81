import type { AgentContext, AgentInput, AgentRun } from '@ensemble/a2a/server';
import { fromOpenAIError } from '@ensemble/llm';
import type { McpToolbox, OpenAIFunctionTool } from '@ensemble/mcp';
import { EnsembleMetadataKey, OPENAI_MESSAGES_PART_KIND, readChatConversation } from '@ensemble/openai-a2a';
import { type ApprovalAnswer, EnsembleError, ErrorCode, type ReasoningEvent, messageText } from '@ensemble/protocol';
import { SpanKind, inSpan, llmRequestAttributes, llmResponseAttributes } from '@ensemble/telemetry';
import type OpenAI from 'openai';

import { type LoopCheckpoint, type TranscriptMessage, checkpointUpdate, readCheckpoint, toModelMessages } from './checkpoint.js';
import {
  type ParsedToolCall,
  type ToolOutcome,
  outcomeFromResult,
  parseToolCall,
  reasoningStatusUpdate,
  thinkingEvent,
  toolCallEvent,
  toolResultEvent,
  truncate,
} from './events.js';
import { type ModelTurn, type RequestedToolCall, type TokenTotals, TurnAccumulator, addUsage } from './turn.js';

export interface ReasoningLoopOptions {
  /** The `openai` SDK client (`createLlmClient`). */
  llm: OpenAI;
  toolbox: McpToolbox;
  model: string;
  /** Most model turns that may call tools; then one more turn, without tools, writes a partial answer. */
  maxSteps: number;
  /** Agent name on reasoning events. */
  agentName: string;
  /** Cap on one tool call; unset = the toolbox's per-server timeout. */
  toolTimeoutMs?: number;
  /** Budget of one model turn, from request to the last streamed token. Default 120 s. */
  llmTimeoutMs?: number;
  /** Replaces the default system prompt. */
  systemPrompt?: string;
  temperature?: number;
}

export const DEFAULT_SYSTEM_PROMPT = [
  "You are Ensemble's reasoning agent. Work through the request step by step.",
  'Use the tools for anything they do exactly (arithmetic, unit conversion, dates and time zones, searches) instead of guessing;',
  'call several tools at once when their calls do not depend on each other.',
  'When a tool fails, read its error and adapt: fix the arguments, try another tool, or say what could not be found.',
  'If the user declined a tool call, do not call that tool again for this request.',
  'Finish with a concise answer that states the result and how you got it.',
].join(' ');

const STEP_LIMIT_PROMPT =
  'You have used every reasoning step you are allowed for this request, so you cannot call tools any more. ' +
  'Answer now from the tool results above: summarise what was found, and say plainly what is still missing or unverified.';

/** The reasoning agent's logic, for `createAgentService({ executor })`. */
export function createReasoningRun(options: ReasoningLoopOptions): AgentRun {
  return (input, ctx) => new ReasoningLoop(options, ctx).run(input);
}

/**
 * One run of the tool-using loop for one task turn: the model decides (streamed, native tool calling),
 * the tools it asks for run through MCP (in parallel), their results go back as `tool` messages, until
 * the model answers or the step limit is reached. Every step is published as a reasoning event; the
 * answer is streamed into the task's text artifact as tokens arrive.
 */
class ReasoningLoop {
  private messages: TranscriptMessage[] = [];
  private step = 0;
  private usage: TokenTotals | undefined;
  /**
   * Tokens of this turn only (the task's total less what earlier turns, before an approval, spent): what
   * `ensemble.usage` reports, so a caller that adds up its requests never counts a call twice.
   */
  private turnUsage: TokenTotals | undefined;
  /** Whether the task's metadata holds a checkpoint that must be cleared once the pending tools ran. */
  private checkpointed = false;
  private readonly answer: AnswerStream;
  private readonly ids: { taskId: string; contextId: string };

  constructor(
    private readonly options: ReasoningLoopOptions,
    private readonly ctx: AgentContext,
  ) {
    this.answer = new AnswerStream(ctx);
    this.ids = { taskId: ctx.taskId, contextId: ctx.contextId };
  }

  async run(input: AgentInput): Promise<undefined> {
    const { maxSteps } = this.options;
    let pending: RequestedToolCall[] | undefined;
    let resumed = false;

    const saved = readCheckpoint(this.ctx.task);
    if (saved !== undefined && 'error' in saved) {
      this.ctx.fail(`The reasoning agent cannot resume this task: its saved state is unreadable (${saved.error}).`, ErrorCode.Internal);
    }
    if (saved !== undefined) {
      // Resumed after an approval answer: continue with the very calls that were put to the person.
      this.messages = saved.messages;
      this.step = saved.step;
      this.usage = saved.usage;
      pending = saved.pending;
      this.checkpointed = true;
      resumed = true;
    } else {
      this.messages = initialMessages(input, this.options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT);
      if (!this.messages.some((message) => message.role === 'user')) this.ctx.reject('The request has no question or instruction to reason about.');
    }

    for (;;) {
      this.throwIfCancelled();
      if (pending === undefined) {
        if (this.step >= maxSteps) {
          await this.answerAtStepLimit();
          return undefined;
        }
        this.step += 1;
        const tools = this.options.toolbox.openAITools();
        this.emit(thinkingEvent(this.step, maxSteps, this.toolsNote(tools)));
        const turn = await this.modelTurn(tools, 'auto');
        if (turn.thinking !== '') this.emit(thinkingEvent(this.step, maxSteps, truncate(turn.thinking)));
        if (turn.toolCalls.length === 0) {
          this.answer.close();
          return undefined;
        }
        const said = `${turn.answer}${turn.thinking}`;
        this.messages.push({
          role: 'assistant',
          content: said === '' ? null : said,
          tool_calls: turn.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
        });
        pending = turn.toolCalls;
      }

      const calls = pending.map(parseToolCall);
      // On resume the calls were announced by the run that asked for approval.
      if (!resumed) {
        for (const call of calls) {
          const tool = this.options.toolbox.getTool(call.name);
          this.emit(toolCallEvent(call, this.step, { server: tool?.server, needsApproval: tool?.requiresApproval ?? false }));
        }
      }
      const outcomes = await this.runTools(calls, pending);
      for (const outcome of outcomes) this.messages.push({ role: 'tool', tool_call_id: outcome.call.id, content: outcome.text });
      if (this.checkpointed) {
        this.ctx.publish(checkpointUpdate(this.ids, null));
        this.checkpointed = false;
      }
      pending = undefined;
      resumed = false;
    }
  }

  /**
   * Approvals first, one at a time: the first unanswered one ends this run in `auth-required` (the kit
   * unwinds `run`; nothing here may catch that) and a later answer resumes right here. Then every call
   * runs at once; a declined call is not run and the model is told why.
   */
  private async runTools(calls: ParsedToolCall[], requested: RequestedToolCall[]): Promise<ToolOutcome[]> {
    const { toolbox } = this.options;
    const decisions = new Map<string, ApprovalAnswer>();
    for (const call of calls) {
      if (call.argumentError !== undefined || !toolbox.requiresApproval(call.name)) continue;
      if (!this.checkpointed) {
        const checkpoint: LoopCheckpoint = { version: 1, step: this.step, messages: [...this.messages], pending: [...requested], ...(this.usage === undefined ? {} : { usage: this.usage }) };
        this.ctx.publish(checkpointUpdate(this.ids, checkpoint));
        this.checkpointed = true;
      }
      const tool = toolbox.getTool(call.name);
      const server = tool?.server;
      decisions.set(
        call.id,
        await this.ctx.requireApproval({
          key: `tool-call:${call.id}`,
          summary: `Run the tool "${call.name}"${server === undefined ? '' : ` (MCP server "${server}")`} with arguments ${truncate(JSON.stringify(call.args), 500)}.`,
          // The tool's input schema lets an approver's edit of the arguments be checked before it reaches the tool.
          details: {
            action: `Run the tool "${call.name}"`,
            tool: call.name,
            ...(server === undefined ? {} : { server }),
            arguments: call.args,
            ...(tool === undefined ? {} : { input_schema: tool.inputSchema }),
            call_id: call.id,
            reasoning_step: this.step,
          },
          ...(tool?.approvalTimeoutSeconds === undefined ? {} : { timeoutSeconds: tool.approvalTimeoutSeconds }),
        }),
      );
    }
    return Promise.all(calls.map((call) => this.runTool(call, decisions.get(call.id))));
  }

  private async runTool(call: ParsedToolCall, decision: ApprovalAnswer | undefined): Promise<ToolOutcome> {
    let outcome: ToolOutcome;
    if (call.argumentError !== undefined) {
      outcome = { call, text: call.argumentError, isError: true, errorKind: 'invalid_arguments', durationMs: 0 };
    } else if (decision?.decision === 'reject') {
      const comment = decision.comment === undefined ? '' : ` Their comment: ${decision.comment}`;
      outcome = {
        call,
        text: `The user declined to run "${call.name}" with these arguments, so it was not run.${comment} Do not call it again for this request; answer without it, or say what cannot be done without it.`,
        isError: true,
        errorKind: 'declined',
        approval: 'rejected',
        durationMs: 0,
      };
    } else {
      // An approver may have edited the arguments: the tool runs with what was approved.
      const args = decision?.decision === 'approve' && decision.arguments !== undefined ? decision.arguments : call.args;
      const result = await this.options.toolbox.callTool(call.name, args, {
        signal: this.ctx.signal,
        ...(this.options.toolTimeoutMs === undefined ? {} : { timeoutMs: this.options.toolTimeoutMs }),
      });
      outcome = { ...outcomeFromResult(call, result), ...(decision === undefined ? {} : { approval: 'approved' as const }) };
    }
    // Published as each call finishes, so a slow tool does not hold back the others' results.
    this.emit(toolResultEvent(outcome, this.step));
    return outcome;
  }

  /** The step limit is reached: one last turn without tools turns what was found into a partial answer. */
  private async answerAtStepLimit(): Promise<void> {
    const { maxSteps } = this.options;
    this.emit({
      type: 'status',
      message: `Reached the limit of ${maxSteps} reasoning steps; writing a partial answer from what was found`,
      metadata: { reason: 'step_limit', max_steps: maxSteps },
    });
    this.answer.paragraph();
    this.answer.push(`Partial answer: I stopped after ${maxSteps} reasoning steps, the limit for one request, before finishing. Here is what I found so far.\n\n`);
    this.messages.push({ role: 'system', content: STEP_LIMIT_PROMPT });
    const turn = await this.modelTurn(this.options.toolbox.openAITools(), 'none');
    if (turn.answer.trim() === '') this.answer.push(this.findingsSummary());
    this.answer.close();
  }

  /** What the tools returned, listed plainly: the fallback when the model gives no summary. */
  private findingsSummary(): string {
    const names = new Map<string, string>();
    const lines: string[] = [];
    for (const message of this.messages) {
      if (message.role === 'assistant') for (const call of message.tool_calls ?? []) names.set(call.id, `${call.function.name}(${truncate(call.function.arguments, 200)})`);
      if (message.role === 'tool') lines.push(`- ${names.get(message.tool_call_id) ?? 'tool'}: ${truncate(message.content, 300)}`);
    }
    return lines.length === 0 ? 'No tool returned a result.' : `Tool results:\n${lines.join('\n')}`;
  }

  /** One streamed model turn. Answer text is streamed to the user as it arrives. */
  private async modelTurn(tools: OpenAIFunctionTool[], toolChoice: 'auto' | 'none'): Promise<ModelTurn> {
    const { llm, model, temperature } = this.options;
    const timeoutMs = this.options.llmTimeoutMs ?? 120_000;
    const accumulator = new TurnAccumulator(`call_${this.ids.taskId.slice(0, 8)}_${this.step}`);
    const messages = toModelMessages(this.messages);
    return inSpan(
      `llm.reasoning_step ${this.step}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { ...llmRequestAttributes({ model, messages, invocationParameters: { tool_choice: toolChoice, tools: tools.length, temperature } }), 'reasoning.step': this.step },
      },
      async (span) => {
        const timeout = AbortSignal.timeout(timeoutMs);
        const signal = AbortSignal.any([this.ctx.signal, timeout]);
        try {
          const stream = await llm.chat.completions.create(
            {
              model,
              messages,
              stream: true,
              stream_options: { include_usage: true },
              ...(tools.length === 0 ? {} : { tools, tool_choice: toolChoice }),
              ...(temperature === undefined ? {} : { temperature }),
            },
            { signal },
          );
          for await (const chunk of stream) {
            this.answer.push(accumulator.add(chunk));
          }
        } catch (error) {
          this.throwIfCancelled(error);
          if (timeout.aborted) {
            throw new EnsembleError(ErrorCode.UpstreamTimeout, `The model did not finish reasoning step ${this.step} within ${timeoutMs} ms.`, { cause: error });
          }
          throw fromOpenAIError(error, `Model call for reasoning step ${this.step}`);
        }
        const turn = accumulator.result();
        span.setAttributes(llmResponseAttributes({ content: turn.answer + turn.thinking, usage: turn.usage }));
        span.setAttribute('reasoning.tool_calls', turn.toolCalls.length);
        this.usage = addUsage(this.usage, turn.usage);
        this.turnUsage = addUsage(this.turnUsage, turn.usage);
        if (turn.usage !== undefined) this.ctx.reportUsage(turn.usage);
        return turn;
      },
    );
  }

  private toolsNote(tools: OpenAIFunctionTool[]): string {
    if (tools.length > 0) return `asking ${this.options.model} for the next action (${tools.length} tools available)`;
    const down = this.options.toolbox
      .status()
      .filter((server) => server.state === 'down')
      .map((server) => `${server.name}: ${server.error ?? 'down'}`);
    return `asking ${this.options.model} without tools (no MCP tool is available${down.length === 0 ? '' : `; ${down.join('; ')}`})`;
  }

  private emit(event: ReasoningEvent): void {
    this.ctx.publish(reasoningStatusUpdate(this.ids, this.options.agentName, event, this.turnUsage));
  }

  private throwIfCancelled(cause?: unknown): void {
    if (this.ctx.signal.aborted) throw new EnsembleError(ErrorCode.Cancelled, 'The reasoning task was canceled.', { cause: cause ?? this.ctx.signal.reason });
  }
}

/**
 * Streams the answer into the task's text artifact, holding back one piece so the last one can carry
 * `lastChunk` without an empty closing event.
 */
class AnswerStream {
  private held: string | undefined;
  private streamed = '';

  constructor(private readonly ctx: AgentContext) {}

  push(text: string): void {
    if (text === '') return;
    if (this.held !== undefined) this.ctx.artifactChunk(this.held);
    this.held = text;
    this.streamed += text;
  }

  /** Starts a new paragraph when text was already streamed (a later turn adds to an earlier one). */
  paragraph(): void {
    if (this.streamed !== '' && !this.streamed.endsWith('\n\n')) this.push(this.streamed.endsWith('\n') ? '\n' : '\n\n');
  }

  close(): void {
    if (this.held === undefined) return;
    this.ctx.artifactChunk(this.held, { lastChunk: true });
    this.held = undefined;
  }
}

/**
 * The conversation the loop starts from: our system prompt, then the caller's turns as text. When the
 * caller is Ensemble's gateway the whole OpenAI conversation comes along (`openai.messages` data part);
 * a plain A2A caller (the orchestrator) sends text, plus data parts with context such as the outputs of
 * earlier plan steps, which are appended to the last user turn as JSON. The caller's own tool turns are
 * left out: they refer to tools this agent does not have.
 */
export function initialMessages(input: AgentInput, systemPrompt: string): TranscriptMessage[] {
  const messages: TranscriptMessage[] = [{ role: 'system', content: systemPrompt }];
  for (const message of readChatConversation(input.message).messages) {
    const text = messageText(message.content).trim();
    if (text === '') continue;
    if (message.role === 'system' || message.role === 'developer') messages.push({ role: 'system', content: text });
    else if (message.role === 'user') messages.push({ role: 'user', content: text });
    else if (message.role === 'assistant') messages.push({ role: 'assistant', content: text });
  }
  const context: unknown[] = [];
  for (const part of input.message.parts) {
    if (part.content?.$case === 'data' && part.metadata?.[EnsembleMetadataKey.partKind] !== OPENAI_MESSAGES_PART_KIND) context.push(part.content.value as unknown);
  }
  const lastUser = messages.findLastIndex((message) => message.role === 'user');
  const last = messages[lastUser];
  if (context.length > 0 && last?.role === 'user') {
    messages[lastUser] = { role: 'user', content: `${last.content}\n\nContext (JSON):\n${JSON.stringify(context.length === 1 ? context[0] : context)}` };
  }
  return messages;
}
