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
