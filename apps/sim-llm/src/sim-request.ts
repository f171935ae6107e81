import { type ChatCompletionRequest, EnsembleError, ErrorCode, messageText } from '@ensemble/protocol';

import type { JsonSchema } from './json-schema.js';

export interface SimTool {
  name: string;
  description: string | undefined;
  /** The function's JSON-schema parameters; `undefined` when the tool declares none. */
  parameters: JsonSchema | undefined;
}

/** `tool_choice`, normalised: `{ name }` when the request names a function. */
export type SimToolChoice = 'none' | 'auto' | 'required' | { name: string };

/**
 * A validated chat completion request with the parts behaviours and scripts look at, extracted once.
 * Behaviours receive this, never the raw HTTP request.
 */
export interface SimRequest {
  body: ChatCompletionRequest;
  /** Text of the last `user` message ('' when there is none). */
  lastUserText: string;
  /** `response_format.type`, or `text` when absent. */
  responseFormat: 'text' | 'json_object' | 'json_schema';
  /** `response_format.json_schema.name` when the request asks for structured output. */
  schemaName: string | undefined;
  schema: JsonSchema | undefined;
  tools: SimTool[];
  toolChoice: SimToolChoice;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string, param: string): EnsembleError {
  return new EnsembleError(ErrorCode.InvalidRequest, message, { details: { param }, wireCode: 'invalid_value' });
}

/**
 * Builds the view and checks what the base schema cannot: well-formed tools, a `tool_choice` that names
 * a declared function, a `json_schema` response format that carries a schema. Errors name the field,
 * as OpenAI's do.
 */
export function toSimRequest(body: ChatCompletionRequest): SimRequest {
  let lastUserText = '';
  for (let index = body.messages.length - 1; index >= 0; index -= 1) {
    const message = body.messages[index];
    if (message?.role === 'user') {
      lastUserText = messageText(message.content);
      break;
    }
  }

  const tools: SimTool[] = [];
  (body.tools ?? []).forEach((tool, index) => {
    const fn = tool['function'];
    if (tool.type !== 'function' || !isRecord(fn) || typeof fn['name'] !== 'string' || fn['name'] === '') {
      throw invalid(`Invalid tool at index ${index}: expected {type: "function", function: {name, parameters?}}`, `tools.${index}`);
    }
    const parameters = fn['parameters'];
    if (parameters !== undefined && !isRecord(parameters)) {
      throw invalid(`Invalid 'tools.${index}.function.parameters': expected a JSON schema object`, `tools.${index}.function.parameters`);
    }
    tools.push({ name: fn['name'], description: typeof fn['description'] === 'string' ? fn['description'] : undefined, parameters });
  });

  const toolChoice = parseToolChoice(body.tool_choice, tools);

  const format = body.response_format;
  let schemaName: string | undefined;
  let schema: JsonSchema | undefined;
  if (format?.type === 'json_schema') {
    const jsonSchema = format['json_schema'];
    if (!isRecord(jsonSchema) || typeof jsonSchema['name'] !== 'string') {
      throw invalid("Missing 'response_format.json_schema.name'", 'response_format.json_schema');
    }
    const rawSchema = jsonSchema['schema'];
    if (rawSchema !== undefined && !isRecord(rawSchema)) {
      throw invalid("Invalid 'response_format.json_schema.schema': expected a JSON schema object", 'response_format.json_schema.schema');
    }
    schemaName = jsonSchema['name'];
    schema = rawSchema;
  }

  return { body, lastUserText, responseFormat: format?.type ?? 'text', schemaName, schema, tools, toolChoice };
}

function parseToolChoice(choice: unknown, tools: readonly SimTool[]): SimToolChoice {
  if (choice === undefined || choice === null) return tools.length > 0 ? 'auto' : 'none';
  if (choice === 'none' || choice === 'auto' || choice === 'required') {
    if (choice === 'required' && tools.length === 0) throw invalid("'tool_choice' is 'required' but no tools were given", 'tool_choice');
    return choice;
  }
  if (isRecord(choice) && choice['type'] === 'function' && isRecord(choice['function']) && typeof choice['function']['name'] === 'string') {
    const name = choice['function']['name'];
    if (!tools.some((tool) => tool.name === name)) throw invalid(`'tool_choice' names function '${name}', which is not in 'tools'`, 'tool_choice');
    return { name };
  }
  throw invalid("Invalid 'tool_choice': expected 'none', 'auto', 'required' or {type: 'function', function: {name}}", 'tool_choice');
}
