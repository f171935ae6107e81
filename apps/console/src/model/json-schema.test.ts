import { describe, expect, it } from 'vitest';

import { type JsonSchema, checkArgumentsText, validateAgainstSchema } from './json-schema.js';

const schema: JsonSchema = {
  type: 'object',
  required: ['service', 'environment'],
  additionalProperties: false,
  properties: {
    service: { type: 'string' },
    environment: { type: 'string', enum: ['staging', 'production'] },
    replicas: { type: 'integer' },
    hosts: { type: 'array', items: { type: 'string' } },
  },
};

describe('validateAgainstSchema', () => {
  it('accepts arguments that fit', () => {
    expect(validateAgainstSchema({ service: 'payments', environment: 'staging', replicas: 2, hosts: ['a'] }, schema)).toEqual([]);
  });

  it('names every field that does not fit', () => {
    expect(validateAgainstSchema({ environment: 'prod', replicas: 1.5, hosts: [3], extra: true }, schema)).toEqual([
      'arguments.service is required',
      'arguments.environment must be one of "staging", "production"',
      'arguments.replicas must be integer, not number',
      'arguments.hosts[0] must be string, not integer',
      'arguments.extra is not allowed',
    ]);
  });
});

describe('checkArgumentsText', () => {
  it('reports text that is not JSON', () => {
    expect(checkArgumentsText('{ service: ', schema).problems[0]).toMatch(/^Not valid JSON/);
  });

  it('returns the parsed value when it fits, with or without a schema', () => {
    expect(checkArgumentsText('{"service":"payments","environment":"staging"}', schema)).toEqual({ value: { service: 'payments', environment: 'staging' }, problems: [] });
    expect(checkArgumentsText('[1]', null)).toEqual({ value: [1], problems: [] });
  });
});
