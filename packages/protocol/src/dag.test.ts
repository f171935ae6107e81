import { zodResponseFormat } from 'openai/helpers/zod';
import { describe, expect, it } from 'vitest';

import { DagEvent, EXECUTION_PLAN_SCHEMA_NAME, ExecutionPlan, PLAN_REVISION_SCHEMA_NAME, PlanNode, PlanRevision } from './dag.js';

/** Keywords OpenAI structured outputs accept in strict mode (anything else is rejected with a 400). */
const STRICT_KEYWORDS = new Set(['$schema', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', 'description', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems', '$ref', '$defs', 'definitions']);

/** Every violation of the strict-mode rules found anywhere in a JSON schema. */
function strictViolations(schema: unknown, path = '#'): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  if (Array.isArray(schema)) return schema.flatMap((item, index) => strictViolations(item, `${path}/${index}`));
  const problems: string[] = [];
  const record = schema as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!STRICT_KEYWORDS.has(key) && !path.endsWith('/properties')) problems.push(`${path}: unsupported keyword ${key}`);
  }
  if (record['type'] === 'object' && !path.endsWith('/properties')) {
    if (record['additionalProperties'] !== false) problems.push(`${path}: additionalProperties must be false`);
    const keys = Object.keys((record['properties'] as Record<string, unknown> | undefined) ?? {}).sort();
    const required = [...((record['required'] as string[] | undefined) ?? [])].sort();
    if (JSON.stringify(keys) !== JSON.stringify(required)) problems.push(`${path}: every property must be required`);
  }
  for (const [key, value] of Object.entries(record)) problems.push(...strictViolations(value, `${path}/${key}`));
  return problems;
}

const node = { id: 'search', agent: 'search', skill: null, input: '{{request}}', dependsOn: [], condition: null, retry: { maxAttempts: 2, backoffMs: 100 }, timeoutMs: 30_000, fallbackAgent: null, description: 'search' };

describe('DAG schemas', () => {
  it('ExecutionPlan and PlanRevision are valid OpenAI strict structured-output schemas', () => {
    for (const [schema, name] of [
      [ExecutionPlan, EXECUTION_PLAN_SCHEMA_NAME],
      [PlanRevision, PLAN_REVISION_SCHEMA_NAME],
    ] as const) {
      const format = zodResponseFormat(schema, name);
      expect(format.json_schema.name).toBe(name);
      expect(format.json_schema.strict).toBe(true);
      const root = format.json_schema.schema as Record<string, unknown>;
      expect(root['type']).toBe('object');
      expect(strictViolations(root)).toEqual([]);
    }
  });

  it('the strict checker catches what strict mode rejects', () => {
    expect(strictViolations({ type: 'object', properties: { a: { type: 'string', minLength: 1 } }, required: [] })).toEqual([
      '#: additionalProperties must be false',
      '#: every property must be required',
      '#/properties/a: unsupported keyword minLength',
    ]);
  });

  it('a node needs an agent or a skill, and ids are slugs', () => {
    expect(PlanNode.safeParse(node).success).toBe(true);
    expect(PlanNode.safeParse({ ...node, agent: null, skill: 'web_search' }).success).toBe(true);
    expect(PlanNode.safeParse({ ...node, agent: null }).error?.issues[0]?.message).toBe('A node needs an agent, a skill, or both');
    expect(PlanNode.safeParse({ ...node, id: 'Has Spaces' }).success).toBe(false);
    expect(PlanNode.safeParse({ ...node, retry: { maxAttempts: 0, backoffMs: 0 } }).success).toBe(false);
  });

  it('DagEvent is a discriminated union of the engine events', () => {
    expect(DagEvent.parse({ type: 'node_skipped', sequence: 3, at: '2025-01-01T00:00:00.000Z', node: 'a', reason: 'condition not met' })).toMatchObject({ type: 'node_skipped' });
    expect(DagEvent.safeParse({ type: 'node_skipped', sequence: 3, at: '2025-01-01T00:00:00.000Z' }).success).toBe(false);
  });
});
