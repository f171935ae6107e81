import {
  OpenInferenceSpanKind,
  SemanticConventions as OI,
} from '@arizeai/openinference-semantic-conventions';
import type { Attributes } from '@opentelemetry/api';

/**
 * OpenInference attributes (what Phoenix reads) for spans around LLM calls and agent steps.
 * Message bodies are included: traces are where an operator debugs a bad answer.
 */
export function llmRequestAttributes(input: {
  model: string;
  messages: ReadonlyArray<{ role: string; content?: unknown }>;
  invocationParameters?: Record<string, unknown>;
}): Attributes {
  const attributes: Attributes = {
    [OI.OPENINFERENCE_SPAN_KIND]: OpenInferenceSpanKind.LLM,
    [OI.LLM_MODEL_NAME]: input.model,
    [OI.LLM_SYSTEM]: 'openai',
  };
  if (input.invocationParameters !== undefined) {
    attributes[OI.LLM_INVOCATION_PARAMETERS] = JSON.stringify(input.invocationParameters);
  }
  input.messages.forEach((message, index) => {
    const prefix = `${OI.LLM_INPUT_MESSAGES}.${index}.`;
    attributes[`${prefix}${OI.MESSAGE_ROLE}`] = message.role;
    attributes[`${prefix}${OI.MESSAGE_CONTENT}`] =
      typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '');
  });
  return attributes;
}

export function llmResponseAttributes(output: {
  content?: string | undefined;
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | undefined | null;
}): Attributes {
  const attributes: Attributes = {};
  if (output.content !== undefined) {
    attributes[`${OI.LLM_OUTPUT_MESSAGES}.0.${OI.MESSAGE_ROLE}`] = 'assistant';
    attributes[`${OI.LLM_OUTPUT_MESSAGES}.0.${OI.MESSAGE_CONTENT}`] = output.content;
  }
  if (output.usage) {
    if (output.usage.prompt_tokens !== undefined) attributes[OI.LLM_TOKEN_COUNT_PROMPT] = output.usage.prompt_tokens;
    if (output.usage.completion_tokens !== undefined) attributes[OI.LLM_TOKEN_COUNT_COMPLETION] = output.usage.completion_tokens;
    if (output.usage.total_tokens !== undefined) attributes[OI.LLM_TOKEN_COUNT_TOTAL] = output.usage.total_tokens;
  }
  return attributes;
}

export function agentSpanAttributes(input: { agent: string; input?: string }): Attributes {
  return {
    [OI.OPENINFERENCE_SPAN_KIND]: OpenInferenceSpanKind.AGENT,
    'agent.name': input.agent,
    ...(input.input === undefined ? {} : { [OI.INPUT_VALUE]: input.input }),
  };
}

/**
 * A CHAIN span: a step that strings other steps together (a workflow node, a planning attempt, the
 * gateway's orchestrated request). `input` is text, or JSON when `json` is set.
 */
export function chainSpanAttributes(input: { input?: string | undefined; json?: boolean } = {}): Attributes {
  return {
    [OI.OPENINFERENCE_SPAN_KIND]: OpenInferenceSpanKind.CHAIN,
    ...(input.input === undefined ? {} : { [OI.INPUT_VALUE]: input.input, [OI.INPUT_MIME_TYPE]: input.json === true ? 'application/json' : 'text/plain' }),
  };
}

/** What a CHAIN or AGENT span produced (`output.value`). */
export function outputAttributes(output: string): Attributes {
  return { [OI.OUTPUT_VALUE]: output, [OI.OUTPUT_MIME_TYPE]: 'text/plain' };
}

export function toolSpanAttributes(input: { tool: string; arguments: unknown }): Attributes {
  return {
    [OI.OPENINFERENCE_SPAN_KIND]: OpenInferenceSpanKind.TOOL,
    [OI.TOOL_NAME]: input.tool,
    [OI.TOOL_PARAMETERS]: JSON.stringify(input.arguments ?? {}),
  };
}
