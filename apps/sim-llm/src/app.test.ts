import { ClassifierVerdict } from '@ensemble/protocol';
import { createLogger } from '@ensemble/telemetry';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { createSimLlmApp } from './app.js';
import type { RecordedRequest } from './request-log.js';
import type { SimReply } from './sim-reply.js';
import { serveSimLlmForTests } from '../../../test/support/sim-llm.js';

const sim = serveSimLlmForTests();
const { state } = sim;

const ask = (content: string) => [{ role: 'user' as const, content }];

/** Adds the sim-llm `sim` field; the SDK sends unknown body fields through untouched. */
function withSim<T extends object>(params: T, sim: SimReply): T {
  return Object.assign({}, params, { sim });
}

async function control(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${sim.url}${path}`, {
    method: init.method ?? 'GET',
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, json: await response.json() };
}

async function waitForRequests(query: string): Promise<RecordedRequest[]> {
  const { status, json } = await control(`/_sim/requests/wait?${query}`);
  expect(status).toBe(200);
  return (json as { requests: RecordedRequest[] }).requests;
}

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('chat completions', () => {
  it('answers a plain question deterministically, reflecting it', async () => {
    const params: ChatCompletionCreateParamsNonStreaming = { model: 'gpt-4o-mini', messages: ask('Why is the sky blue?') };
    const first = await sim.client.chat.completions.create(params);
    const second = await sim.client.chat.completions.create(params);
    const content = first.choices[0]?.message.content ?? '';
    expect(content).toMatch(/^\[sim-llm\] You asked: "Why is the sky blue\?"/);
    expect(second.choices[0]?.message.content).toBe(content);
    expect(first).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant' } }] });
    expect(first.usage?.completion_tokens).toBeGreaterThan(10);
    expect(first.usage?.total_tokens).toBe((first.usage?.prompt_tokens ?? 0) + (first.usage?.completion_tokens ?? 0));
  });

  it('streams word by word: role first, usage chunk last, same text as non-streaming', async () => {
    const params: ChatCompletionCreateParamsStreaming = { model: 'gpt-4o', messages: ask('Why is the sky blue?'), stream: true, stream_options: { include_usage: true } };
    const chunks = await collect(await sim.client.chat.completions.create(params));
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    const whole = await sim.client.chat.completions.create({ model: 'gpt-4o', messages: ask('Why is the sky blue?') });
    expect(text).toBe(whole.choices[0]?.message.content);
    const contentChunks = chunks.filter((chunk) => (chunk.choices[0]?.delta.content ?? '') !== '');
    expect(contentChunks.length).toBeGreaterThan(10);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(whole.usage?.completion_tokens);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('ends the SSE stream with data: [DONE] and sends no usage chunk unless asked', async () => {
    const response = await fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: ask('hi'), sim: { content: 'one two three' } }),
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await response.text();
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    const events = body.split('\n\n').filter((event) => event.startsWith('data: {'));
    expect(events.map((event) => (JSON.parse(event.slice(6)) as ChatCompletionChunk).choices[0]?.delta.content)).toEqual(['', 'one ', 'two ', 'three', undefined]);
    expect(body).not.toContain('"usage"');
  });

  it('cuts content at max_tokens with finish_reason length', async () => {
    const completion = await sim.client.chat.completions.create({ model: 'm', messages: ask('Tell me a long story'), max_tokens: 5 });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.choices[0]?.message.content?.length).toBe(20);
  });

  it('rejects bad requests with OpenAI-style 400s naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ messages: ask('hi') }, 'model'],
      [{ model: 'm' }, 'messages'],
      [{ model: 'm', messages: [] }, 'messages'],
      [{ model: 'm', messages: ask('hi'), tool_choice: 'required' }, 'tool_choice'],
      [{ model: 'm', messages: ask('hi'), tools: [{ type: 'function', function: { name: 'a' } }], tool_choice: { type: 'function', function: { name: 'b' } } }, 'tool_choice'],
      [{ model: 'm', messages: ask('hi'), response_format: { type: 'json_schema' } }, 'response_format.json_schema'],
      [{ model: 'm', messages: ask('hi'), sim: { contnet: 'typo' } }, 'sim'],
      [{ model: 'm', messages: ask('hi'), sim: { error: { status: 200 } } }, 'sim.error.status'],
      [{ model: 'm', messages: ask('hi'), n: 2 }, 'n'],
    ];
    for (const [body, param] of cases) {
      const { status, json } = await control('/v1/chat/completions', { method: 'POST', body });
      expect(status, JSON.stringify(body)).toBe(400);
      expect(json).toMatchObject({ error: { type: 'invalid_request_error', param } });
    }
    const badJson = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
    expect(badJson.status).toBe(400);
    await expect(sim.client.chat.completions.create({ model: '', messages: ask('hi') })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });
});

describe('tool calls', () => {
  const weather: OpenAI.Chat.Completions.ChatCompletionFunctionTool = {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'unit', 'days'], additionalProperties: false },
    },
  };
  const search: OpenAI.Chat.Completions.ChatCompletionFunctionTool = {
    type: 'function',
    function: { name: 'web_search', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
  };
  const ArgsSchema = z.strictObject({ city: z.string(), unit: z.enum(['c', 'f']), days: z.int().min(1).max(7) });

  it('calls the named function with arguments valid against its schema', async () => {
    const completion = await sim.client.chat.completions.create({
      model: 'm',
      messages: ask('Weather in Oslo?'),
      tools: [search, weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(ArgsSchema.parse(JSON.parse(call.function.arguments))).toEqual({ city: 'sim-llm city', unit: 'c', days: 1 });
  });

  it('with tool_choice required calls the first tool, filling a query with the question', async () => {
    const completion = await sim.client.chat.completions.create({ model: 'm', messages: ask('latest TypeScript release'), tools: [search, weather], tool_choice: 'required' });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('web_search');
    expect(JSON.parse(call.function.arguments)).toEqual({ query: 'latest TypeScript release' });
  });

  it('with tool_choice auto answers in text unless scripted, and reports a tool result', async () => {
    const plain = await sim.client.chat.completions.create({ model: 'm', messages: ask('Weather in Oslo?'), tools: [weather] });
    expect(plain.choices[0]?.finish_reason).toBe('stop');
    expect(plain.choices[0]?.message.tool_calls).toBeUndefined();

    await control('/_sim/scripts', { method: 'POST', body: { match: { hasTools: true, contains: 'Oslo' }, reply: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo', unit: 'c', days: 2 } }] }, times: 1 } });
    const scripted = await sim.client.chat.completions.create({ model: 'm', messages: ask('Weather in Oslo?'), tools: [weather] });
    const call = scripted.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Oslo', unit: 'c', days: 2 });

    const answer = await sim.client.chat.completions.create({
      model: 'm',
      tools: [weather],
      messages: [...ask('Weather in Oslo?'), scripted.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '{"temp": 4}' }],
    });
    expect(answer.choices[0]?.message.content).toMatch(/^\[sim-llm\] The tool returned: \{"temp": 4\}/);
  });

  it('streams tool calls as index/id/name deltas followed by argument fragments', async () => {
    const stream = await sim.client.chat.completions.create({
      model: 'm',
      messages: ask('Weather?'),
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      stream: true,
    });
    const chunks = await collect(stream);
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(deltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(deltas[0]?.id).toMatch(/^call_/);
    expect(deltas.length).toBeGreaterThan(2);
    for (const delta of deltas.slice(1)) {
      expect(delta.id).toBeUndefined();
      expect(delta.index).toBe(0);
    }
    const args = deltas.map((delta) => delta.function?.arguments ?? '').join('');
    expect(ArgsSchema.parse(JSON.parse(args))).toBeTruthy();
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('is assembled correctly by the SDK stream helper', async () => {
    const runner = sim.client.chat.completions.stream({ model: 'm', messages: ask('Weather?'), tools: [weather], tool_choice: 'required' });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(ArgsSchema.parse(JSON.parse(call.function.arguments))).toBeTruthy();
  });
});

describe('structured outputs', () => {
  it('returns JSON valid against a zod schema sent through zodResponseFormat (chat.completions.parse)', async () => {
    const Report = z.object({
      title: z.string(),
      sections: z.array(z.object({ heading: z.string(), confidence: z.number().min(0).max(1) })).min(2),
      status: z.enum(['draft', 'final']),
      published: z.iso.datetime().nullable(),
    });
    const completion = await sim.client.chat.completions.parse({ model: 'gpt-4o', messages: ask('Write a report'), response_format: zodResponseFormat(Report, 'report') });
    const parsed = completion.choices[0]?.message.parsed;
    expect(Report.parse(parsed).sections).toHaveLength(2);
  });

  it('classifies routing_verdict requests: multi-step → orchestration, single question → passthrough', async () => {
    const format = zodResponseFormat(ClassifierVerdict, 'routing_verdict');
    const verdict = async (text: string) =>
      (await sim.client.chat.completions.parse({ model: 'gpt-4o-mini', temperature: 0, response_format: format, messages: [{ role: 'system', content: 'Classify.' }, { role: 'user', content: `Conversation:\nuser: ${text}` }] }))
        .choices[0]?.message.parsed;
    expect(await verdict('Research the three largest EV makers and compare their margins')).toMatchObject({ needs_orchestration: true });
    expect(await verdict("What's 2+2?")).toMatchObject({ needs_orchestration: false });
    const [record] = state.requests.list();
    expect(record?.replySource).toBe('behaviour:routing-classifier');
  });

  it('returns a JSON object in json_object mode', async () => {
    const completion = await sim.client.chat.completions.create({ model: 'm', messages: ask('Give me JSON'), response_format: { type: 'json_object' } });
    const value: unknown = JSON.parse(completion.choices[0]?.message.content ?? '');
    expect(value).toMatchObject({ source: 'sim-llm', answer: expect.stringContaining('Give me JSON') as unknown });
  });
});

describe('scripts', () => {
  it('match on contains/regex/model/schemaName, newest first, and honour times', async () => {
    const older = await control('/_sim/scripts', { method: 'POST', body: { match: { contains: 'ping' }, reply: { content: 'older' } } });
    expect(older.status).toBe(201);
    await control('/_sim/scripts', { method: 'POST', body: { match: { regex: '^ping \\d+$', model: 'gpt-4o' }, reply: { content: 'newer' }, times: 1 } });
    await control('/_sim/scripts', { method: 'POST', body: { match: { schemaName: 'thing' }, reply: { json: { scripted: true } } } });

    const text = async (content: string, model = 'gpt-4o') => (await sim.client.chat.completions.create({ model, messages: ask(content) })).choices[0]?.message.content;
    expect(await text('ping 1', 'gpt-4o-mini')).toBe('older');
    expect(await text('ping 1')).toBe('newer');
    expect(await text('ping 1')).toBe('older');
    expect(await text('pong')).toMatch(/^\[sim-llm\]/);
    const structured = await sim.client.chat.completions.create({ model: 'm', messages: ask('x'), response_format: { type: 'json_schema', json_schema: { name: 'thing', schema: { type: 'object' } } } });
    expect(JSON.parse(structured.choices[0]?.message.content ?? '')).toEqual({ scripted: true });

    const { json: listed } = await control('/_sim/scripts');
    expect((listed as { scripts: unknown[] }).scripts).toHaveLength(2);
    const { id } = older.json as { id: string };
    expect((await control(`/_sim/scripts/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await control(`/_sim/scripts/${id}`, { method: 'DELETE' })).status).toBe(404);
    expect(await text('ping 1', 'gpt-4o-mini')).toMatch(/^\[sim-llm\]/);
    await control('/_sim/scripts', { method: 'DELETE' });
    expect((state.scripts.list())).toEqual([]);
  });

  it('a per-request sim field overrides a script without using it up', async () => {
    const id = state.scripts.add({ match: { contains: 'hello' }, reply: { content: 'scripted', ttftMs: 0 }, times: 1 });
    const overridden = await sim.client.chat.completions.create(withSim({ model: 'm', messages: ask('hello') }, { content: 'from sim' }));
    expect(overridden.choices[0]?.message.content).toBe('from sim');
    const scripted = await sim.client.chat.completions.create({ model: 'm', messages: ask('hello') });
    expect(scripted.choices[0]?.message.content).toBe('scripted');
    expect(state.requests.list().map((record) => record.replySource)).toEqual(['sim', `script:${id}`]);
    expect(state.scripts.list()).toEqual([]);
  });

  it('a sim field with only timing keeps the scripted answer', async () => {
    state.scripts.add({ match: { contains: 'slow' }, reply: { content: 'scripted answer' } });
    const started = performance.now();
    const completion = await sim.client.chat.completions.create(withSim({ model: 'm', messages: ask('slow please') }, { ttftMs: 60 }));
    expect(completion.choices[0]?.message.content).toBe('scripted answer');
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('rejects malformed scripts with 400', async () => {
    expect((await control('/_sim/scripts', { method: 'POST', body: { match: { contain: 'x' }, reply: { content: 'y' } } })).status).toBe(400);
    expect((await control('/_sim/scripts', { method: 'POST', body: { match: { regex: '(' }, reply: {} } })).json).toMatchObject({ error: { param: 'match.regex' } });
    expect((await control('/_sim/scripts', { method: 'POST', body: { reply: {}, times: 0 } })).status).toBe(400);
  });
});

describe('faults and latency', () => {
  it('answers injected errors with the status and an OpenAI error body', async () => {
    const error = await sim.client.chat.completions
      .create(withSim({ model: 'm', messages: ask('hi') }, { error: { status: 503, message: 'overloaded', code: 'busy' } }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error).toMatchObject({ status: 503, error: { message: 'overloaded', type: 'server_error', code: 'busy', param: null } });
  });

  it('sends retry-after with 429, and the SDK retry succeeds after it', async () => {
    const noRetry = await sim.client.chat.completions.create(withSim({ model: 'm', messages: ask('hi') }, { error: { status: 429, retryAfterSeconds: 2 } })).catch((caught: unknown) => caught);
    expect(noRetry).toBeInstanceOf(OpenAI.RateLimitError);
    expect((noRetry as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('2');
    expect(noRetry).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded' } });

    state.requests.clear();
    state.scripts.add({ match: { contains: 'retry me' }, reply: { error: { status: 429, retryAfterSeconds: 0.15 } }, times: 1 });
    const retrying = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-test', maxRetries: 1 });
    const completion = await retrying.chat.completions.create({ model: 'm', messages: ask('retry me') });
    expect(completion.choices[0]?.message.content).toMatch(/retry me/);
    const [first, second] = state.requests.list();
    expect([first?.status, second?.status]).toEqual([429, 200]);
    expect(Date.parse(second!.receivedAt) - Date.parse(first!.receivedAt)).toBeGreaterThanOrEqual(140);
  });

  it('cuts a stream after N chunks: no [DONE], the client sees a broken connection', async () => {
    const stream = await sim.client.chat.completions.create(withSim({ model: 'm', messages: ask('hi'), stream: true }, { cutAfterChunks: 3 }));
    const received: ChatCompletionChunk[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) received.push(chunk);
      })(),
    ).rejects.toThrow();
    expect(received).toHaveLength(3);
    const [record] = await waitForRequests('count=1');
    expect(record).toMatchObject({ cut: true, aborted: false, status: 200 });
  });

  it('cuts a non-streamed reply mid-body', async () => {
    // Headers arrive, then the body breaks: the SDK fails while reading it (undici's "terminated").
    await expect(sim.client.chat.completions.create(withSim({ model: 'm', messages: ask('hi') }, { cutAfterChunks: 0 }))).rejects.toThrow(/terminated/);
    expect(state.requests.list()[0]).toMatchObject({ cut: true });
  });

  it('waits ttftMs before the first chunk and paces the rest at tokensPerSecond', async () => {
    const started = performance.now();
    const stream = await sim.client.chat.completions.create(withSim({ model: 'm', messages: ask('hi'), stream: true }, { content: 'a b c d e f', ttftMs: 120, tokensPerSecond: 50 }));
    const arrivals: number[] = [];
    for await (const _chunk of stream) arrivals.push(performance.now() - started);
    expect(arrivals[0]).toBeGreaterThanOrEqual(115);
    // 6 words + the finish chunk after the first, 20 ms apart.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(7 * 20 - 10);
  });

  it('applies defaults from PUT /_sim/config to non-streamed replies too, and delayMs before anything', async () => {
    expect((await control('/_sim/config', { method: 'PUT', body: { ttftMs: 100 } })).json).toMatchObject({ ttftMs: 100 });
    let started = performance.now();
    await sim.client.chat.completions.create({ model: 'm', messages: ask('hi') });
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    state.reset();
    started = performance.now();
    await sim.client.chat.completions.create(withSim({ model: 'm', messages: ask('hi') }, { delayMs: 80, content: 'x' }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    expect((await control('/_sim/config', { method: 'PUT', body: { ttftMs: -1 } })).status).toBe(400);
  });

  it('records a hung request as aborted once the client gives up', async () => {
    const controller = new AbortController();
    const pending = sim.client.chat.completions.create(withSim({ model: 'm', messages: ask('hang') }, { hang: true }), { signal: controller.signal });
    const caught = pending.catch((error: unknown) => error);
    await waitForRequests('count=1');
    expect(state.requests.list()[0]).toMatchObject({ aborted: false, status: null });
    controller.abort();
    expect(await caught).toBeInstanceOf(OpenAI.APIUserAbortError);
    const [record] = await waitForRequests('count=1&aborted=true');
    expect(record).toMatchObject({ aborted: true, status: 499 });
    expect(record?.finishedAt).toBeDefined();
  });

  it('records a stream the client abandons mid-way as aborted', async () => {
    const stream = await sim.client.chat.completions.create(withSim({ model: 'm', messages: ask('long'), stream: true }, { tokensPerSecond: 20 }));
    for await (const _chunk of stream) break; // leaving the loop aborts the request
    const [record] = await waitForRequests('count=1&aborted=true&timeout_ms=5000');
    expect(record).toMatchObject({ aborted: true, cut: false, status: 200 });
  });
});

describe('request log and control API', () => {
  it('records path, body (unknown fields included) and the correlation headers', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await sim.client.chat.completions.create(Object.assign({ model: 'm', messages: ask('hi') }, { vendor_field: 42 }), { headers: { traceparent, 'x-request-id': 'req-abc' } });
    const { json } = await control('/_sim/requests');
    const [record] = (json as { requests: RecordedRequest[] }).requests;
    expect(record).toMatchObject({
      path: '/v1/chat/completions',
      headers: { authorization: 'Bearer sk-test', traceparent, 'x-request-id': 'req-abc' },
      body: { model: 'm', vendor_field: 42 },
      aborted: false,
      status: 200,
    });
    expect(Date.parse(record!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(record!.receivedAt));
    expect((await control('/_sim/requests', { method: 'DELETE' })).status).toBe(200);
    expect(state.requests.list()).toEqual([]);
  });

  it('long-polls until requests arrive, and answers 408 on timeout', async () => {
    const waiting = waitForRequests('count=2&timeout_ms=5000');
    await sim.client.chat.completions.create({ model: 'm', messages: ask('one') });
    await sim.client.chat.completions.create({ model: 'm', messages: ask('two') });
    expect((await waiting).map((record) => (record.body as { messages: { content: string }[] }).messages[0]?.content)).toEqual(['one', 'two']);

    const timedOut = await control('/_sim/requests/wait?count=1&aborted=true&timeout_ms=50');
    expect(timedOut).toMatchObject({ status: 408, json: { error: { code: 'wait_timeout' } } });
    expect((await control('/_sim/requests/wait?count=abc')).status).toBe(400);
    expect((await control('/_sim/requests/wait?count=5000')).status).toBe(400);
  });

  it('keeps the log bounded', async () => {
    const small = createSimLlmApp({ maxRecordedRequests: 2, logger: createLogger({ service: 't', level: 'silent' }) });
    for (const content of ['a', 'b', 'c']) {
      await small.app.request('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'm', messages: ask(content) }), headers: { 'content-type': 'application/json' } });
    }
    expect(small.state.requests.list().map((record) => (record.body as { messages: { content: string }[] }).messages[0]?.content)).toEqual(['b', 'c']);
  });

  it('lists models, looks one up, and reports health', async () => {
    const models = await sim.client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['gpt-4o-mini', 'gpt-4o', 'sim-llm']);
    expect((await sim.client.models.retrieve('sim-llm')).owned_by).toBe('sim-llm');
    await expect(sim.client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(await control('/health')).toEqual({ status: 200, json: { status: 'ok', service: 'sim-llm' } });
  });
});
