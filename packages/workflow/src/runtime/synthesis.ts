import { fromOpenAIError, type createLlmClient } from '@ensemble/llm';
import type { ExecutionPlan, NodeResult, TokenCounts } from '@ensemble/protocol';
import { SpanKind, inSpan, llmRequestAttributes, llmResponseAttributes } from '@ensemble/telemetry';

type LlmClient = ReturnType<typeof createLlmClient>;
type ChatMessages = Parameters<LlmClient['chat']['completions']['create']>[0]['messages'];

/** Longest node output quoted to the synthesis model; longer ones are cut with a note. */
const MAX_OUTPUT_CHARS = 8_000;

const SYSTEM_PROMPT = [
  'You are the final step of a multi-agent workflow. Several agents worked on parts of the user request;',
  'their results follow. Write the answer to the user from those results: complete, direct, well organised.',
  'Do not describe the workflow itself. When results are listed as missing, answer from what is there and say',
  'plainly which part of the request is not covered and why (the step failed, or could not run because of it);',
  'never fill the gap with guesses.',
  'When a result cites sources as [1], [2], keep those citations on the claims they support and end with the',
  'list of the sources you cited (number, title, location); never invent a source.',
].join(' ');

/** The results block of the prompt (and the degraded answer when the LLM cannot be reached). */
export function formatResults(plan: ExecutionPlan, results: Readonly<Record<string, NodeResult>>): string {
  return plan.nodes
    .map((node) => {
      const result = results[node.id];
      const who = result?.agent ?? node.agent ?? node.skill ?? 'agent';
      const header = `### ${node.id} (${who}): ${node.description}`;
      switch (result?.status) {
        case 'completed': {
          const output = result.output ?? '';
          return `${header}\n${output.length > MAX_OUTPUT_CHARS ? `${output.slice(0, MAX_OUTPUT_CHARS)}\n[... ${output.length - MAX_OUTPUT_CHARS} more characters]` : output}`;
        }
        case 'failed':
          return `${header}\n[failed: ${result.error?.message ?? 'unknown error'}]`;
        case 'skipped':
          return `${header}\n[skipped: ${result.skipReason ?? 'not needed'}]`;
        default:
          return `${header}\n[${result?.status ?? 'not run'}]`;
      }
    })
    .join('\n\n');
}

/** A node whose result the answer lacks: it failed, or was skipped because something it needed failed. */
export interface MissingResult {
  node: string;
  agent: string | null;
  description: string;
  status: 'failed' | 'skipped';
  reason: string;
}

/** The nodes whose results are missing because of a failure, in plan order (skips by condition or revision are not missing). */
export function missingResults(plan: ExecutionPlan, results: Readonly<Record<string, NodeResult>>): MissingResult[] {
  const missing: MissingResult[] = [];
  for (const node of plan.nodes) {
    const result = results[node.id];
    const agent = result?.agent ?? node.agent;
    if (result?.status === 'failed') missing.push({ node: node.id, agent, description: node.description, status: 'failed', reason: result.error?.message ?? 'unknown error' });
    else if (result?.status === 'skipped' && result.error !== null) missing.push({ node: node.id, agent, description: node.description, status: 'skipped', reason: result.error.message });
  }
  return missing;
}

export function synthesisMessages(request: string, plan: ExecutionPlan, results: Readonly<Record<string, NodeResult>>): ChatMessages {
  const missing = missingResults(plan, results);
  // Before the results block, which runs to the end of the message.
  const gaps =
    missing.length === 0
      ? ''
      : `Missing results (say so in the answer):\n${missing.map((entry) => `- ${entry.node}: ${entry.description} (${entry.status}: ${entry.reason})`).join('\n')}\n\n`;
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: `User request:\n${request}\n\nGoal: ${plan.goal}\n\n${gaps}Agent results:\n\n${formatResults(plan, results)}` },
  ];
}

export interface SynthesisRequest {
  model: string;
  request: string;
  plan: ExecutionPlan;
  results: Readonly<Record<string, NodeResult>>;
  signal: AbortSignal;
  /** Each piece of the answer as the model streams it. */
  onToken(text: string): void;
  /** The call's token usage, once the model reported it. */
  onUsage?(usage: TokenCounts): void;
}

/** The final answer, streamed token by token (OpenAI SDK streaming); returns the whole text. */
export async function synthesize(llm: LlmClient, request: SynthesisRequest): Promise<string> {
  const messages = synthesisMessages(request.request, request.plan, request.results);
  return inSpan('llm.synthesis', { kind: SpanKind.CLIENT, attributes: llmRequestAttributes({ model: request.model, messages }) }, async (span) => {
    let answer = '';
    try {
      const stream = await llm.chat.completions.create({ model: request.model, messages, stream: true, stream_options: { include_usage: true } }, { signal: request.signal });
      let usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta.content;
        if (typeof text === 'string' && text !== '') {
          answer += text;
          request.onToken(text);
        }
        if (chunk.usage != null) usage = chunk.usage;
      }
      span.setAttributes(llmResponseAttributes({ content: answer, usage }));
      if (usage !== undefined) request.onUsage?.(usage);
      return answer;
    } catch (error) {
      throw fromOpenAIError(error, 'Final synthesis');
    }
  });
}
