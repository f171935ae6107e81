import { EnsembleMetadataKey, ReasoningEvent, TokenUsage } from '@ensemble/protocol';

/** The wire names live in `@ensemble/protocol`; re-exported here, where the translation reads them. */
export { EnsembleMetadataKey };

/** Value of `EnsembleMetadataKey.partKind` on the data part that carries the full OpenAI `messages`. */
export const OPENAI_MESSAGES_PART_KIND = 'openai.messages';

/** A2A metadata objects are typed `{ [key: string]: any }` by the SDK; read them as `unknown`. */
export type A2AMetadata = Readonly<Record<string, unknown>> | undefined;

export interface Attribution {
  agent: string | undefined;
  node: string | undefined;
  step: number | undefined;
}

export function readAttribution(...sources: A2AMetadata[]): Attribution {
  return {
    agent: firstOf(sources, EnsembleMetadataKey.agent, isNonEmptyString),
    node: firstOf(sources, EnsembleMetadataKey.node, isNonEmptyString),
    step: firstOf(sources, EnsembleMetadataKey.step, isStep),
  };
}

/** The explicit reasoning event in metadata, or `undefined` when absent or malformed (then one is derived). */
export function readReasoningEvent(metadata: A2AMetadata): ReasoningEvent | undefined {
  const raw = metadata?.[EnsembleMetadataKey.reasoningEvent];
  if (raw === undefined) return undefined;
  const parsed = ReasoningEvent.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** Usage in metadata with `total_tokens` filled in, or `undefined` when absent or malformed. */
export function readUsage(metadata: A2AMetadata): Required<TokenUsage> | undefined {
  const raw = metadata?.[EnsembleMetadataKey.usage];
  if (raw === undefined) return undefined;
  const parsed = TokenUsage.safeParse(raw);
  if (!parsed.success) return undefined;
  return { ...parsed.data, total_tokens: parsed.data.total_tokens ?? parsed.data.prompt_tokens + parsed.data.completion_tokens };
}

/** The record's position in the session's event log (an orchestrator's status and artifact updates carry it). */
export function readPosition(metadata: A2AMetadata): number | undefined {
  const position = metadata?.[EnsembleMetadataKey.position];
  return typeof position === 'number' && Number.isInteger(position) && position >= 0 ? position : undefined;
}

function firstOf<T>(sources: A2AMetadata[], key: string, guard: (value: unknown) => value is T): T | undefined {
  for (const source of sources) {
    const value = source?.[key];
    if (guard(value)) return value;
  }
  return undefined;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isStep(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
