import { zodResponseFormat } from 'openai/helpers/zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { type JsonSchema, generateFromSchema } from './json-schema.js';

/** What z.toJSONSchema emits, typed for the generator. */
function jsonSchemaOf(schema: z.ZodType, options: Parameters<typeof z.toJSONSchema>[1] = {}): JsonSchema {
  return z.toJSONSchema(schema, options);
}

interface Node {
  name: string;
  children: Node[];
}
const TreeNode: z.ZodType<Node> = z.object({
  name: z.string(),
  get children() {
    return z.array(TreeNode);
  },
});

const zodCases: [string, z.ZodType][] = [
  [
    'scalars, enum, literal, optional, nullable, default',
    z.object({
      title: z.string(),
      count: z.number(),
      whole: z.int(),
      flag: z.boolean(),
      colour: z.enum(['red', 'green']),
      kind: z.literal('plan'),
      note: z.string().optional(),
      maybe: z.number().nullable(),
      withDefault: z.string().default('x'),
    }),
  ],
  [
    'string formats and lengths',
    z.object({
      email: z.email(),
      id: z.uuid(),
      link: z.url(),
      at: z.iso.datetime(),
      day: z.iso.date(),
      ip: z.ipv4(),
      short: z.string().max(3),
      long: z.string().min(40),
      slug: z.string().regex(/^[a-z]+$/),
    }),
  ],
  [
    'number ranges',
    z.object({
      between: z.number().min(10).max(20),
      open: z.number().gt(0).lt(1),
      positive: z.int().positive(),
      negative: z.int().max(-5),
      stepped: z.int().min(7).multipleOf(5),
    }),
  ],
  [
    'arrays and tuples',
    z.object({
      tags: z.array(z.string()).min(3),
      capped: z.array(z.number()).max(0),
      pair: z.tuple([z.string(), z.number()]),
      distinct: z.array(z.enum(['a', 'b', 'c'])).min(3).refine((items) => new Set(items).size === items.length),
    }),
  ],
  [
    'unions, discriminated unions, intersections, records',
    z.object({
      either: z.union([z.number(), z.string()]),
      shape: z.discriminatedUnion('type', [z.object({ type: z.literal('circle'), r: z.number() }), z.object({ type: z.literal('square'), side: z.number() })]),
      both: z.intersection(z.object({ a: z.string() }), z.object({ b: z.number() })),
      map: z.record(z.string(), z.number()),
    }),
  ],
  ['a recursive schema', TreeNode],
];

describe('generateFromSchema', () => {
  it.each(zodCases)('produces a valid value for %s (z.toJSONSchema)', (_name, schema) => {
    const value = generateFromSchema(jsonSchemaOf(schema));
    expect(schema.safeParse(value).error).toBeUndefined();
  });

  it.each(zodCases)('produces a valid value for %s with reused schemas as $defs refs', (_name, schema) => {
    const value = generateFromSchema(jsonSchemaOf(schema, { reused: 'ref' }));
    expect(schema.safeParse(value).error).toBeUndefined();
  });

  it('handles what openai/helpers/zod sends (strict, nullable instead of optional, $defs)', () => {
    const Step = z.object({ id: z.string(), agent: z.enum(['research', 'math']), depends_on: z.array(z.string()) });
    const Plan = z.object({ goal: z.string(), steps: z.array(Step).min(2), deadline: z.iso.datetime().nullable(), review: Step.nullable() });
    const format = zodResponseFormat(Plan, 'execution_plan');
    const schema = format.json_schema.schema as JsonSchema;
    const value = generateFromSchema(schema);
    const parsed = Plan.parse(value);
    expect(parsed.steps).toHaveLength(2);
    expect(parsed.deadline).not.toBeNull();
  });

  it('is deterministic', () => {
    const schema = jsonSchemaOf(zodCases[0]![1]);
    expect(generateFromSchema(schema)).toEqual(generateFromSchema(schema));
  });

  it('follows draft-4 boolean exclusive bounds, definitions refs, type lists and const', () => {
    const schema: JsonSchema = {
      type: 'object',
      definitions: { score: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1 } },
      properties: {
        score: { $ref: '#/definitions/score' },
        either: { type: ['null', 'integer'], minimum: 3 },
        fixed: { const: { version: 2 } },
      },
      required: ['score', 'either', 'fixed'],
    };
    const value = generateFromSchema(schema) as { score: number; either: number; fixed: unknown };
    expect(value.score).toBeGreaterThan(0);
    expect(value.score).toBeLessThanOrEqual(1);
    expect(value.either).toBe(3);
    expect(value.fixed).toEqual({ version: 2 });
  });

  it('ends a recursion that is required all the way down through its nullable branch', () => {
    const schema: JsonSchema = {
      $defs: { node: { type: 'object', properties: { value: { type: 'string' }, next: { anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }] } }, required: ['value', 'next'] } },
      $ref: '#/$defs/node',
    };
    let node = generateFromSchema(schema) as { value: string; next: unknown } | null;
    let length = 0;
    while (node !== null) {
      expect(typeof node.value).toBe('string');
      node = node.next as typeof node;
      length += 1;
    }
    expect(length).toBeGreaterThan(1);
  });

  it('fills strings named like a query from the hint and leaves constrained strings alone', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: { query: { type: 'string' }, code: { type: 'string', pattern: '^[A-Z]{2}[0-9]{2}$' } },
    };
    const value = generateFromSchema(schema, { textFor: (label) => (label === 'query' ? 'weather in Paris' : undefined) });
    expect(value).toEqual({ query: 'weather in Paris', code: 'AB12' });
  });
});
