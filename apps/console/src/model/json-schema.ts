/**
 * The subset of JSON Schema the approval editor checks before sending (type, required, properties,
 * enum, items, additionalProperties: false). The gateway validates again and answers 400 naming the
 * field; this only spares a round trip for the common mistakes.
 */
export type JsonSchema = {
  type?: string | readonly string[];
  required?: readonly string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  enum?: readonly unknown[];
  items?: JsonSchema;
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

/** The problems found, each naming the path (`arguments.env`); empty when the value fits. */
export function validateAgainstSchema(value: unknown, schema: JsonSchema, path = 'arguments'): string[] {
  const problems: string[] = [];
  if (schema.type !== undefined) {
    const types = typeof schema.type === 'string' ? [schema.type] : schema.type;
    if (!types.some((type) => matchesType(value, type))) return [`${path} must be ${types.join(' or ')}, not ${typeOf(value)}`];
  }
  if (schema.enum !== undefined && !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
    problems.push(`${path} must be one of ${schema.enum.map((allowed) => JSON.stringify(allowed)).join(', ')}`);
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!(name in object)) problems.push(`${path}.${name} is required`);
    for (const [name, child] of Object.entries(object)) {
      const childSchema = schema.properties?.[name];
      if (childSchema !== undefined) problems.push(...validateAgainstSchema(child, childSchema, `${path}.${name}`));
      else if (schema.additionalProperties === false) problems.push(`${path}.${name} is not allowed`);
      else if (typeof schema.additionalProperties === 'object') problems.push(...validateAgainstSchema(child, schema.additionalProperties, `${path}.${name}`));
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    const items = schema.items;
    value.forEach((item, index) => problems.push(...validateAgainstSchema(item, items, `${path}[${index}]`)));
  }
  return problems;
}

/** Parses the editor's text and checks it; `problems` is empty when it can be sent. */
export function checkArgumentsText(text: string, schema: JsonSchema | null): { value?: unknown; problems: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problems: [`Not valid JSON: ${error instanceof Error ? error.message : String(error)}`] };
  }
  return { value, problems: schema === null ? [] : validateAgainstSchema(value, schema) };
}
