import { AgentServiceSettings } from '@ensemble/a2a';
import { env } from '@ensemble/config';
import { AgentSkillSummary, EnsembleError, ErrorCode } from '@ensemble/protocol';
import { z } from 'zod';

import { PRESETS, PRESET_NAMES } from './presets.js';

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern, 'i');
    return true;
  } catch {
    return false;
  }
}

/** How one mock agent instance behaves. Every field but the identity has a default. */
export const FailureMode = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('none') }),
  /** Every task fails with `message`. */
  z.object({ mode: z.literal('always'), message: z.string().default('Mock agent configured to fail every task') }),
  /** The first `count` tasks of this process fail, later ones succeed (exercises retries upstream). */
  z.object({ mode: z.literal('first-n'), count: z.int().positive(), message: z.string().default('Mock agent failing its first calls') }),
  /** Tasks never finish (until canceled): exercises timeouts, cancellation and shutdown. */
  z.object({ mode: z.literal('hang') }),
  /** The process exits abruptly once the task has started (after its first status update). */
  z.object({ mode: z.literal('crash'), exitCode: z.int().min(1).max(255).default(70) }),
  /** The task waits for a person's approval; approve continues, reject ends it `rejected` (or `failed`). */
  z.object({
    mode: z.literal('approval'),
    summary: z.string().default('The mock agent will act on: {{input}}'),
    /**
     * Context for the approver (placeholders filled): `action`, `reason`, `risks`, `impact`, and the
     * `arguments` the agent will act with plus their JSON Schema (`arguments_schema`). An approver
     * who edits the arguments changes what the agent does: their values replace the placeholders
     * of the same name in the reply and the data.
     */
    details: z.record(z.string(), z.unknown()).optional(),
    onReject: z.enum(['rejected', 'failed']).default('rejected'),
  }),
]);
export type FailureMode = z.infer<typeof FailureMode>;

export const MockAgentBehaviour = z.object({
  name: z.string().min(1),
  description: z.string().min(1),
  version: z.string().default('1.0.0'),
  skills: z.array(AgentSkillSummary).min(1),
  /**
   * Answer template: `{{input}}` (the request text), `{{agent}}` (the name), `{{call}}` (task number),
   * and the values `parse` reads from the request (after an approval, the approved arguments).
   */
  reply: z.string().default('{{agent}} handled: {{input}}'),
  /** Optional structured result, published as a data artifact (same placeholders in string values). */
  data: z.record(z.string(), z.unknown()).optional(),
  /** Progress messages sent as status updates before answering. */
  statusUpdates: z.array(z.string()).default([]),
  /** Wait before the first output. */
  delayMs: z.int().min(0).default(0),
  /** The reply is streamed in this many artifact chunks. */
  chunks: z.int().min(1).max(1_000).default(1),
  /** Wait between chunks. */
  chunkDelayMs: z.int().min(0).default(0),
  failure: FailureMode.default({ mode: 'none' }),
  /**
   * Reads values out of the request: the named groups of `pattern` (a regular expression, matched
   * case-insensitively) become placeholders (`(?<service>...)` gives `{{service}}`), lower-cased;
   * a group that does not match takes its value from `defaults`.
   */
  parse: z
    .object({
      pattern: z.string().min(1).refine(isRegExp, 'must be a valid regular expression'),
      defaults: z.record(z.string(), z.string()).default({}),
    })
    .optional(),
});
export type MockAgentBehaviour = z.infer<typeof MockAgentBehaviour>;
export type MockAgentBehaviourInput = z.input<typeof MockAgentBehaviour>;

/** Environment of one mock agent process (see the README's configuration table). */
export const MockAgentsEnv = z.object({
  MOCK_AGENT_PRESET: z.enum(PRESET_NAMES).optional(),
  /** JSON object, merged over the preset and the file. */
  MOCK_AGENT_CONFIG: env.optionalString(),
  /** Path of a JSON file, merged over the preset. */
  MOCK_AGENT_CONFIG_FILE: env.optionalString(),
  MOCK_AGENT_HOST: env.host(),
  /** Default: MOCK_AGENTS_BASE_PORT plus the preset's index (reasoning 0, rag 1, search 2, analysis 3, operations 4). */
  MOCK_AGENT_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  MOCK_AGENTS_BASE_PORT: env.port(8201),
  /** URL announced in the Agent Card when it differs from the bound address. */
  MOCK_AGENT_PUBLIC_URL: env.optionalUrl(),
  MOCK_AGENT_TASK_STORE: z.enum(['redis', 'memory']).default('redis'),
  ...AgentServiceSettings.shape,
});
export type MockAgentsEnv = z.infer<typeof MockAgentsEnv>;

function parseJsonObject(text: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `${source} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `${source} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * The behaviour of this instance: the preset (if named), then the file, then the inline JSON, each
 * merged over the previous one field by field. Throws one readable error naming the bad fields.
 */
export function resolveBehaviour(config: Readonly<MockAgentsEnv>, readFile: (path: string) => string): MockAgentBehaviour {
  const layers: Record<string, unknown>[] = [];
  if (config.MOCK_AGENT_PRESET !== undefined) layers.push(PRESETS[config.MOCK_AGENT_PRESET]);
  if (config.MOCK_AGENT_CONFIG_FILE !== undefined) layers.push(parseJsonObject(readFile(config.MOCK_AGENT_CONFIG_FILE), `MOCK_AGENT_CONFIG_FILE (${config.MOCK_AGENT_CONFIG_FILE})`));
  if (config.MOCK_AGENT_CONFIG !== undefined) layers.push(parseJsonObject(config.MOCK_AGENT_CONFIG, 'MOCK_AGENT_CONFIG'));
  if (layers.length === 0) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `Set MOCK_AGENT_PRESET (${PRESET_NAMES.join(', ')}), MOCK_AGENT_CONFIG or MOCK_AGENT_CONFIG_FILE`);
  }
  const merged = Object.assign({}, ...layers) as Record<string, unknown>;
  const result = MockAgentBehaviour.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.map(String).join('.') || '(config)'}: ${issue.message}`);
    throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid mock agent configuration:\n${problems.join('\n')}`);
  }
  return result.data;
}

/** The port to bind: explicit, or the preset's slot after the base port. */
export function resolvePort(config: Readonly<MockAgentsEnv>): number {
  if (config.MOCK_AGENT_PORT !== undefined) return config.MOCK_AGENT_PORT;
  const slot = config.MOCK_AGENT_PRESET === undefined ? 0 : PRESET_NAMES.indexOf(config.MOCK_AGENT_PRESET);
  return config.MOCK_AGENTS_BASE_PORT + slot;
}
