import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT, type ServiceProcess, startService, stopAllServices } from '../support/processes.js';

/** What sim-llm recorded of a call (`GET /_sim/requests`), as far as these tests read it. */
interface RecordedRequest {
  headers: Record<string, string>;
  body: { messages?: unknown };
}

/**
 * `bench:gateway`'s promised-work floor is a floor only while it does the work it claims to: a floor that
 * skipped auth or validation would flatter every ratio the benchmark prints against it.
 */
describe('bench:gateway promised-work floor', () => {
  const TOKEN = 'floor-token';
  let proxy: ServiceProcess;
  let recorded: () => Promise<RecordedRequest[]>;

  beforeAll(async () => {
    const sim = await startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } });
    proxy = await startService({
      name: 'promised-work',
      command: { argv: [process.execPath, '--import', 'tsx', 'bench/promised-work-proxy.ts', `${sim.url}/v1`, TOKEN, 'upstream-key'], cwd: REPO_ROOT },
    });
    recorded = async () => ((await (await fetch(`${sim.url}/_sim/requests`)).json()) as { requests: RecordedRequest[] }).requests;
  });
  afterAll(() => stopAllServices());

  const post = (body: unknown, token = TOKEN) =>
    fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('relays a valid request upstream with its own key, a request id and a traceparent, and returns the completion', async () => {
    const response = await post({ model: 'sim', messages: [{ role: 'user', content: 'hello floor' }] });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^[\da-f-]{36}$/);
    const completion = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(completion.choices[0]?.message.content.length).toBeGreaterThan(0);
    const upstream = (await recorded()).at(-1);
    expect(upstream?.headers['authorization']).toBe('Bearer upstream-key');
    expect(upstream?.headers['x-request-id']).toBe(response.headers.get('x-request-id'));
    expect(upstream?.headers['traceparent']).toMatch(/^00-[\da-f]{32}-[\da-f]{16}-00$/);
    expect(upstream?.body.messages).toEqual([{ role: 'user', content: 'hello floor' }]);
  });

  it('refuses a wrong token and an invalid body before anything goes upstream', async () => {
    const before = (await recorded()).length;
    const unauthorized = await post({ model: 'sim', messages: [{ role: 'user', content: 'hi' }] }, 'wrong');
    expect(unauthorized.status).toBe(401);
    expect(((await unauthorized.json()) as { error: { message: string } }).error.message).toBe('invalid bearer token');
    const invalid = await post({ model: 'sim', messages: 'not a list' });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect((await recorded()).length).toBe(before);
  });

  it('relays a stream as server-sent events to the end', async () => {
    const response = await post({ model: 'sim', stream: true, messages: [{ role: 'user', content: 'stream please' }] });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    expect(text).toContain('"chat.completion.chunk"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});
