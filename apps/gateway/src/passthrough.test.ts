import { createLlmClient } from '@ensemble/llm';
import { createRouter } from '@ensemble/routing';
import { createLogger } from '@ensemble/telemetry';
import { describe, expect, it } from 'vitest';

import { createGatewayApp } from './app.js';

/**
 * Stream endings sim-llm cannot produce (a clean end without `finish_reason`, an in-band error event),
 * driven through the real `openai` SDK with a scripted `fetch` and the gateway app in-process.
 */
function gatewayWithUpstreamEvents(events: string[]) {
  const upstream = createLlmClient({
    baseURL: 'http://upstream.invalid/v1',
    maxRetries: 0,
    fetch: async () =>
      new Response(events.map((event) => `data: ${event}\n\n`).join(''), { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
  const app = createGatewayApp({
    logger: createLogger({ service: 'test', level: 'silent' }),
    upstream,
    upstreamTimeoutMs: 1_000,
    router: createRouter({ classifier: { classify: () => Promise.reject(new Error('unused')) }, classifierTimeoutMs: 100 }),
    apiTokens: [],
  });
  return (body: Record<string, unknown>) =>
    app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-routing-mode': 'passthrough' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, ...body }),
    });
}

const chunk = (content: string, finish: string | null = null) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: finish }] });

function dataLines(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice('data: '.length));
}

describe('streamed passthrough endings', () => {
  it('relays every event, unknown fields included, and ends with [DONE]', async () => {
    const withExtra = JSON.stringify({ ...(JSON.parse(chunk('b', 'stop')) as object), provider_field: { x: 1 } });
    const response = await gatewayWithUpstreamEvents([chunk('a'), withExtra, '[DONE]'])({});
    expect(response.status).toBe(200);
    const lines = dataLines(await response.text());
    expect(lines.map((line) => (line === '[DONE]' ? line : (JSON.parse(line) as object)))).toEqual([JSON.parse(chunk('a')), JSON.parse(withExtra), '[DONE]']);
  });

  it('reports a stream that ends before finish_reason as an error event instead of [DONE]', async () => {
    const response = await gatewayWithUpstreamEvents([chunk('partial')])({});
    const lines = dataLines(await response.text());
    expect(lines).toHaveLength(2);
    expect(lines).not.toContain('[DONE]');
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_error' } });
  });

  it("relays the upstream's in-band error event and stops", async () => {
    const upstreamError = JSON.stringify({ error: { message: 'model overloaded', type: 'server_error', param: null, code: 'overloaded' } });
    const response = await gatewayWithUpstreamEvents([chunk('a'), upstreamError, chunk('never sent', 'stop'), '[DONE]'])({});
    const lines = dataLines(await response.text());
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1] ?? '')).toEqual({ error: { message: 'model overloaded', type: 'server_error', param: null, code: 'overloaded' } });
  });
});
