import { describe, expect, it } from 'vitest';

import { buildOpenApiDocument } from './openapi.js';

describe('OpenAPI document: approval webhooks', () => {
  it('describes the webhook request: its signed headers and the event body from the protocol schema', () => {
    const document = buildOpenApiDocument({ version: 'test', authRequired: true }) as {
      webhooks: Record<string, { post: { parameters: Array<{ name: string; required: boolean }>; requestBody: unknown } }>;
      components: { schemas: Record<string, { required?: string[]; properties?: Record<string, { enum?: string[] }> }> };
    };
    const post = document.webhooks['approvalEvent']?.post;
    expect(post?.parameters.map((parameter) => [parameter.name, parameter.required])).toEqual([
      ['X-Ensemble-Signature', true],
      ['X-Ensemble-Event', true],
      ['X-Ensemble-Delivery', true],
    ]);
    expect(JSON.stringify(post?.requestBody)).toContain('#/components/schemas/ApprovalWebhookEvent');
    const event = document.components.schemas['ApprovalWebhookEvent'];
    expect(event?.required).toEqual(expect.arrayContaining(['id', 'type', 'created_at', 'approval']));
    expect(event?.properties?.['type']?.enum).toEqual(['approval.requested', 'approval.decided', 'approval.expired']);
  });
});

describe('OpenAPI document: the console', () => {
  it('describes GET /console/config.json as public, answering whether sign-in is required', () => {
    const document = buildOpenApiDocument({ version: 'test', authRequired: true }) as {
      paths: Record<string, { get?: { security?: unknown[]; responses: Record<string, { content?: Record<string, { schema: { required?: string[]; properties?: Record<string, { type?: string }> } }> }> } }>;
    };
    const get = document.paths['/console/config.json']?.get;
    expect(get?.security).toEqual([]);
    const schema = get?.responses['200']?.content?.['application/json']?.schema;
    expect(schema?.required).toEqual(['authRequired']);
    expect(schema?.properties?.['authRequired']?.type).toBe('boolean');
  });
});

describe('OpenAPI document: orchestrated answers', () => {
  interface JsonSchema {
    properties?: Record<string, JsonSchema>;
    items?: JsonSchema;
    anyOf?: JsonSchema[];
    description?: string;
  }
  const document = buildOpenApiDocument({ version: 'test', authRequired: true }) as { components: { schemas: Record<string, JsonSchema> } };
  /** The object branch of a nullable schema (`anyOf: [object, null]`), or the schema itself. */
  const objectOf = (schema: JsonSchema | undefined) => schema?.anyOf?.find((branch) => branch.properties !== undefined) ?? schema;
  /** The schema along `path` (`[]` steps into an array's items). */
  const at = (schema: JsonSchema | undefined, ...path: string[]): JsonSchema | undefined =>
    path.reduce<JsonSchema | undefined>((current, key) => (key === '[]' ? objectOf(current)?.items : objectOf(current)?.properties?.[key]), schema);

  it('documents progress where clients read it: delta.reasoning_event and the reasoning text fields; streamed usage', () => {
    const chunk = document.components.schemas['ChatCompletionChunk'];
    const delta = at(chunk, 'choices', '[]', 'delta');
    expect(Object.keys(delta?.properties ?? {})).toEqual(expect.arrayContaining(['reasoning_event', 'reasoning_content', 'reasoning']));
    expect(Object.keys(at(delta, 'reasoning_event')?.properties ?? {})).toEqual(expect.arrayContaining(['type', 'agent', 'node', 'sequence', 'message']));
    // Not at the top level of the chunk, where the plan's desktop client never looks.
    expect(chunk?.properties?.['reasoning_event']).toBeUndefined();
    expect(at(chunk, 'usage')?.description).toMatch(/include_usage/);
  });

  it('documents the non-streamed events and text in choices[0].message, and usage', () => {
    const completion = document.components.schemas['ChatCompletion'];
    const message = at(completion, 'choices', '[]', 'message');
    expect(Object.keys(message?.properties ?? {})).toEqual(expect.arrayContaining(['reasoning_events', 'reasoning_content', 'reasoning']));
    expect(Object.keys(at(message, 'reasoning_events', '[]')?.properties ?? {})).toEqual(expect.arrayContaining(['type', 'agent', 'node', 'sequence']));
    expect(Object.keys(objectOf(at(completion, 'usage'))?.properties ?? {})).toEqual(expect.arrayContaining(['prompt_tokens', 'completion_tokens', 'total_tokens']));
  });
});
