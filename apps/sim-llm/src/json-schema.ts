/**
 * Generates a deterministic example value for a JSON Schema: what sim-llm returns for structured outputs
 * and tool-call arguments. Covers what `z.toJSONSchema` and `openai/helpers/zod` emit: objects
 * (properties, required, additionalProperties), arrays (items, prefixItems, minItems/maxItems,
 * uniqueItems), enum/const, anyOf/oneOf (first non-null branch), allOf (merged), type lists, string
 * formats and lengths, number ranges and multipleOf, and `$ref` into `$defs`/`definitions` (recursion
 * included, bounded by depth). `pattern` is honoured only when one of a few stock strings happens to
 * match: there is no general regex-to-string generator here.
 */
export type JsonSchema = Record<string, unknown>;

export interface GenerateOptions {
  /** Beyond this nesting depth optional properties are dropped and arrays shrink to their minimum. */
  maxDepth?: number;
  /**
   * Text for a plain string (no format, pattern or length limits) by property name; `undefined` keeps
   * the default `sim-llm <name>`. Lets a tool call's `query` carry the user's question.
   */
  textFor?: (label: string) => string | undefined;
}

interface Walk {
  root: JsonSchema;
  maxDepth: number;
  depth: number;
  /** Name of the property (or `item`) being generated, used to make strings readable. */
  label: string;
  /** Distinguishes siblings in arrays so `uniqueItems` holds. */
  variant: number;
  textFor: GenerateOptions['textFor'];
}

export function generateFromSchema(schema: JsonSchema | boolean, options: GenerateOptions = {}): unknown {
  const root = typeof schema === 'boolean' ? {} : schema;
  return generate(schema, { root, maxDepth: options.maxDepth ?? 8, depth: 0, label: 'value', variant: 0, textFor: options.textFor });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asSchema(value: unknown): JsonSchema | boolean | undefined {
  if (typeof value === 'boolean') return value;
  return isRecord(value) ? value : undefined;
}

function generate(input: JsonSchema | boolean, walk: Walk): unknown {
  if (input === true) return `sim-llm ${walk.label}`;
  if (input === false) return null;
  // A recursive schema whose recursion is required all the way down has no finite instance: give up.
  if (walk.depth > walk.maxDepth * 3) return null;
  const schema = input;

  if (typeof schema['$ref'] === 'string') {
    const target = resolveRef(walk.root, schema['$ref']);
    // Sibling keywords next to $ref (allowed since 2019-09) refine the target: merge them in.
    const { $ref: _ref, ...siblings } = schema;
    const merged = Object.keys(siblings).length === 0 ? target : mergeSchemas([target, siblings]);
    return generate(merged, { ...walk, depth: walk.depth + 1 });
  }
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) {
    const options = schema['enum'] as unknown[];
    return options[walk.variant % options.length];
  }
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const branches = schema[keyword];
    if (Array.isArray(branches) && branches.length > 0) {
      const { [keyword]: _branches, ...rest } = schema;
      const chosen = asSchema(pickBranch(branches, walk.root, walk.depth >= walk.maxDepth)) ?? {};
      return generate(Object.keys(rest).length === 0 ? chosen : mergeSchemas([rest, chosen]), walk);
    }
  }
  if (Array.isArray(schema['allOf']) && schema['allOf'].length > 0) {
    const { allOf, ...rest } = schema;
    const parts = (allOf as unknown[]).map((part) => asSchema(part)).filter((part) => part !== undefined);
    const resolved = parts.map((part) => (typeof part === 'boolean' ? {} : derefShallow(part, walk.root)));
    return generate(mergeSchemas([rest, ...resolved]), walk);
  }

  switch (pickType(schema)) {
    case 'object':
      return generateObject(schema, walk);
    case 'array':
      return generateArray(schema, walk);
    case 'string':
      return generateString(schema, walk);
    case 'integer':
      return generateNumber(schema, walk, true);
    case 'number':
      return generateNumber(schema, walk, false);
    case 'boolean':
      return walk.variant % 2 === 0;
    case 'null':
      return null;
    default:
      return `sim-llm ${walk.label}`;
  }
}

/**
 * The first branch that is not just `{type: "null"}`, so nullable fields get a value. Deep inside a
 * recursive schema the null branch is preferred instead: it is what ends the recursion.
 */
function pickBranch(branches: unknown[], root: JsonSchema, preferNull: boolean): unknown {
  const isNull = (branch: unknown) => {
    const schema = asSchema(branch);
    if (schema === undefined || typeof schema === 'boolean') return schema !== true;
    return derefShallow(schema, root)['type'] === 'null';
  };
  const chosen = preferNull ? branches.find(isNull) : branches.find((branch) => !isNull(branch));
  return chosen ?? branches[0];
}

function pickType(schema: JsonSchema): string | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    const types = type.filter((entry): entry is string => typeof entry === 'string');
    return types.find((entry) => entry !== 'null') ?? types[0];
  }
  if (isRecord(schema['properties']) || schema['additionalProperties'] !== undefined || Array.isArray(schema['required'])) return 'object';
  if (schema['items'] !== undefined || schema['prefixItems'] !== undefined) return 'array';
  if (typeof schema['minimum'] === 'number' || typeof schema['maximum'] === 'number') return 'number';
  if (typeof schema['format'] === 'string' || typeof schema['minLength'] === 'number' || typeof schema['pattern'] === 'string') return 'string';
  return undefined;
}

function generateObject(schema: JsonSchema, walk: Walk): Record<string, unknown> {
  const properties = isRecord(schema['properties']) ? schema['properties'] : {};
  const required = new Set(Array.isArray(schema['required']) ? schema['required'].filter((key): key is string => typeof key === 'string') : []);
  // Deep inside a recursive schema only the required properties are filled in, so recursion ends.
  const shallow = walk.depth >= walk.maxDepth;
  const result: Record<string, unknown> = {};
  for (const [key, propertySchema] of Object.entries(properties)) {
    if (shallow && !required.has(key)) continue;
    const child = asSchema(propertySchema);
    if (child === undefined || child === false) continue;
    result[key] = generate(child, { ...walk, depth: walk.depth + 1, label: key, variant: 0 });
  }
  // Required keys without a property schema (allowed by JSON Schema) still have to be present.
  for (const key of required) {
    if (!(key in result)) result[key] = `sim-llm ${key}`;
  }
  return result;
}

function generateArray(schema: JsonSchema, walk: Walk): unknown[] {
  const prefix = Array.isArray(schema['prefixItems']) ? (schema['prefixItems'] as unknown[]) : [];
  const items = asSchema(schema['items']);
  const minItems = typeof schema['minItems'] === 'number' ? schema['minItems'] : 0;
  const maxItems = typeof schema['maxItems'] === 'number' ? schema['maxItems'] : Number.POSITIVE_INFINITY;
  const shallow = walk.depth >= walk.maxDepth;
  // One element by default (an empty list says little in a demo), the minimum deep in recursion.
  let length = Math.max(minItems, prefix.length, shallow ? 0 : 1);
  if (items === false || (items === undefined && prefix.length > 0)) length = Math.max(minItems, prefix.length);
  length = Math.min(length, maxItems);
  const label = walk.label === 'value' ? 'item' : walk.label;
  const result: unknown[] = [];
  for (let index = 0; index < length; index += 1) {
    const itemSchema = index < prefix.length ? asSchema(prefix[index]) : items;
    result.push(generate(itemSchema ?? true, { ...walk, depth: walk.depth + 1, label, variant: index }));
  }
  return result;
}

const FORMAT_EXAMPLES: Record<string, string> = {
  'date-time': '2025-01-01T00:00:00Z',
  date: '2025-01-01',
  time: '00:00:00',
  duration: 'PT1M',
  email: 'sim@example.com',
  'idn-email': 'sim@example.com',
  uri: 'https://example.com/sim-llm',
  url: 'https://example.com/sim-llm',
  'uri-reference': 'https://example.com/sim-llm',
  iri: 'https://example.com/sim-llm',
  uuid: '00000000-0000-4000-8000-000000000000',
  hostname: 'example.com',
  'idn-hostname': 'example.com',
  ipv4: '127.0.0.1',
  ipv6: '::1',
  'json-pointer': '/sim',
  regex: '^sim$',
};

/** Tried in order when a `pattern` rejects the default: cheap, and covers common identifier patterns. */
const PATTERN_CANDIDATES = ['sim', 'sim-llm', 'sim_llm', 'SIM', 'Sim', 'a', 'A', '0', '1', 'abc123', 'sim1', 'x-1', 'sim.llm', 'AB12'];

function generateString(schema: JsonSchema, walk: Walk): string {
  const format = typeof schema['format'] === 'string' ? schema['format'] : undefined;
  const minLength = typeof schema['minLength'] === 'number' ? schema['minLength'] : 0;
  const maxLength = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : Number.POSITIVE_INFINITY;
  const suffix = walk.variant === 0 ? '' : ` ${walk.variant + 1}`;
  const plain = format === undefined && schema['pattern'] === undefined && minLength === 0 && maxLength === Number.POSITIVE_INFINITY;
  const text = plain ? walk.textFor?.(walk.label) : undefined;
  if (text !== undefined) return walk.variant === 0 ? text : `${text}${suffix}`;
  let value = format !== undefined && FORMAT_EXAMPLES[format] !== undefined ? FORMAT_EXAMPLES[format] : `sim-llm ${walk.label}${suffix}`;

  const pattern = typeof schema['pattern'] === 'string' ? safeRegExp(schema['pattern']) : undefined;
  if (pattern !== undefined && !pattern.test(value)) {
    const candidate = PATTERN_CANDIDATES.find((text) => pattern.test(text) && text.length >= minLength && text.length <= maxLength);
    if (candidate !== undefined) return candidate;
  }
  if (value.length > maxLength) value = value.slice(0, maxLength);
  if (value.length < minLength) value = value.padEnd(minLength, value.length === 0 ? 'x' : '.');
  return value;
}

function generateNumber(schema: JsonSchema, walk: Walk, integer: boolean): number {
  let low = typeof schema['minimum'] === 'number' ? schema['minimum'] : Number.NEGATIVE_INFINITY;
  let high = typeof schema['maximum'] === 'number' ? schema['maximum'] : Number.POSITIVE_INFINITY;
  let lowExclusive = false;
  let highExclusive = false;
  // Draft 4 spells exclusivity as booleans next to minimum/maximum; later drafts as numbers.
  if (typeof schema['exclusiveMinimum'] === 'number' && schema['exclusiveMinimum'] >= low) [low, lowExclusive] = [schema['exclusiveMinimum'], true];
  else if (schema['exclusiveMinimum'] === true) lowExclusive = true;
  if (typeof schema['exclusiveMaximum'] === 'number' && schema['exclusiveMaximum'] <= high) [high, highExclusive] = [schema['exclusiveMaximum'], true];
  else if (schema['exclusiveMaximum'] === true) highExclusive = true;
  const multipleOf = typeof schema['multipleOf'] === 'number' && schema['multipleOf'] > 0 ? schema['multipleOf'] : undefined;

  const fits = (value: number) =>
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (lowExclusive ? value > low : value >= low) &&
    (highExclusive ? value < high : value <= high) &&
    (multipleOf === undefined || Math.abs(value / multipleOf - Math.round(value / multipleOf)) < 1e-9);
  const snap = (value: number, direction: 'up' | 'down') => {
    let snapped = integer ? (direction === 'up' ? Math.ceil(value) : Math.floor(value)) : value;
    if (multipleOf !== undefined) snapped = (direction === 'up' ? Math.ceil(snapped / multipleOf) : Math.floor(snapped / multipleOf)) * multipleOf;
    return snapped;
  };
  // Prefer small readable numbers (0, 1, 2... for array siblings), then the edges, then the middle.
  const candidates = [
    snap(walk.variant, 'up'),
    snap(low + walk.variant, 'up'),
    snap(low + walk.variant + 1, 'up'),
    snap(high - walk.variant, 'down'),
    snap(high - walk.variant - 1, 'down'),
    snap((low + high) / 2, 'up'),
    snap((low + high) / 2, 'down'),
    (low + high) / 2,
  ];
  return candidates.find(fits) ?? 0;
}

function safeRegExp(source: string): RegExp | undefined {
  try {
    return new RegExp(source, 'u');
  } catch {
    try {
      return new RegExp(source);
    } catch {
      return undefined;
    }
  }
}

/** Resolves a local JSON pointer (`#`, `#/$defs/x`, `#/definitions/x`, any `#/a/b`). Remote refs resolve to `{}`. */
function resolveRef(root: JsonSchema, ref: string): JsonSchema | boolean {
  if (!ref.startsWith('#')) return {};
  const pointer = ref.slice(1);
  if (pointer === '' || pointer === '/') return root;
  let current: unknown = root;
  for (const raw of pointer.replace(/^\//, '').split('/')) {
    const segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isRecord(current) && !Array.isArray(current)) return {};
    current = (current as Record<string, unknown>)[segment];
  }
  return asSchema(current) ?? {};
}

function derefShallow(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let hops = 0; hops < 16 && typeof current['$ref'] === 'string'; hops += 1) {
    const target = resolveRef(root, current['$ref']);
    const { $ref: _ref, ...siblings } = current;
    current = { ...(typeof target === 'boolean' ? {} : target), ...siblings };
  }
  return current;
}

/** Merges schemas for allOf / $ref siblings: properties and required are unioned, the rest last-wins. */
function mergeSchemas(schemas: readonly (JsonSchema | boolean)[]): JsonSchema {
  const merged: JsonSchema = {};
  const properties: Record<string, unknown> = {};
  const required = new Set<string>();
  for (const schema of schemas) {
    if (typeof schema === 'boolean') continue;
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties' && isRecord(value)) Object.assign(properties, value);
      else if (key === 'required' && Array.isArray(value)) for (const name of value) required.add(String(name));
      else merged[key] = value;
    }
  }
  if (Object.keys(properties).length > 0) merged['properties'] = properties;
  if (required.size > 0) merged['required'] = [...required];
  return merged;
}
