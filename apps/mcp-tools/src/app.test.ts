import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { type RunningServer, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type McpToolsAppDeps, createMcpToolsApp } from './app.js';
import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import type { KnowledgeBase, KnowledgeBaseSearchOptions } from './tools/knowledge-base.js';
import { UnconfiguredKnowledgeBase } from './tools/knowledge-base.js';
import { WorkerCalculator } from './tools/sandboxed-calculator.js';
import { VectorKnowledgeBase } from './tools/vector-knowledge-base.js';
import { InMemoryVectorStore, LexicalEmbedder } from '@ensemble/vectors';
import { ingestPaths } from '@ensemble/ingest';

import { freePort } from '../../../test/support/ports.js';
import { REPO_ROOT } from '../../../test/support/processes.js';

const logger = createLogger({ service: 'mcp-tools-test', level: 'silent' });
const FIXED_NOW = new Date('2025-03-14T15:09:26Z');

/** A fake upstream API on port 0 that records requests and answers from a per-path handler. */
interface FakeApi {
  url: string;
  requests: URL[];
  headers: Array<Record<string, string | string[] | undefined>>;
  close(): Promise<void>;
}
async function startFakeApi(handlers: Record<string, (url: URL) => { status?: number; body: unknown } | 'hang'>): Promise<FakeApi> {
  const requests: URL[] = [];
  const headers: FakeApi['headers'] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    requests.push(url);
    headers.push(request.headers);
    const handler = handlers[url.pathname];
    const answer = handler === undefined ? { status: 404, body: { error: 'no such path' } } : handler(url);
    if (answer === 'hang') return; // never answers: the tool's own timeout must fire
    response.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    headers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const servers: RunningServer[] = [];
const clients: Client[] = [];
// The calculator as the service runs it: in a worker thread with a time limit.
const calculator = new WorkerCalculator({ timeoutMs: 2_000, logger });

async function startTools(overrides: Partial<McpToolsAppDeps> = {}): Promise<RunningServer> {
  const app = createMcpToolsApp({
    logger,
    calculator,
    knowledgeBase: new UnconfiguredKnowledgeBase(),
    weather: { timeoutMs: 2_000 },
    webSearch: { timeoutMs: 2_000 },
    authTokens: [],
    allowedOrigins: [],
    now: () => FIXED_NOW,
    ...overrides,
  });
  const server = await serveHttp(app, { host: '127.0.0.1', port: 0, logger, service: 'mcp-tools' });
  servers.push(server);
  return server;
}

async function connect(server: RunningServer, headers?: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), headers === undefined ? {} : { requestInit: { headers } }));
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function textOf(result: CallToolResult): string {
  return result.content.map((block) => (block.type === 'text' ? block.text : '')).join('\n');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await calculator.close();
});

describe('mcp-tools over Streamable HTTP', () => {
  let tools: RunningServer;
  beforeAll(async () => {
    tools = await startTools();
  });

  it('lists every tool with an input and an output schema', async () => {
    const client = await connect(tools);
    const { tools: listed } = await client.listTools();
    expect(listed.map((tool) => tool.name).sort()).toEqual(
      ['add_duration', 'calculator', 'convert_time', 'convert_units', 'current_time', 'date_difference', 'day_of_week', 'knowledge_base_search', 'weather', 'web_search'].sort(),
    );
    for (const tool of listed) {
      expect(tool.description, tool.name).toBeTruthy();
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type, tool.name).toBe('object');
    }
    expect(client.getServerVersion()?.name).toBe('ensemble-tools');
  });

  it('calculator evaluates expressions and returns the normalized form', async () => {
    const client = await connect(tools);
    const result = await call(client, 'calculator', { expression: '2+3*4^2' });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ expression: '2 + 3 * 4 ^ 2', result: '50', value: 50, type: 'number' });
    expect(JSON.parse(textOf(result))).toEqual(result.structuredContent);

    const units = await call(client, 'calculator', { expression: '5 cm to inch' });
    expect(units.structuredContent).toMatchObject({ type: 'Unit', result: '1.9685039370079 inch' });
    const statements = await call(client, 'calculator', { expression: 'a = 3; b = a^2; sqrt(b) + 1' });
    expect(statements.structuredContent).toMatchObject({ value: 4 });
    const floatNoise = await call(client, 'calculator', { expression: '0.1 + 0.2' });
    expect(floatNoise.structuredContent).toMatchObject({ value: 0.3 });
  });

  it('calculator refuses code execution, config changes and huge allocations with actionable errors', async () => {
    const client = await connect(tools);
    for (const [expression, fragment] of [
      ['import({x: 1})', 'import() is not available'],
      ['evaluate("1+1")', 'evaluate() is not available'],
      ['parse("1")', 'parse() is not available'],
      ['createUnit("foo")', 'createUnit() is not available'],
      ['config({number: "BigNumber"})', 'config() is not available'],
      ['f = config; f({number: "BigNumber"})', 'config() is not available'],
      ['zeros(100000, 100000)', 'zeros() is not available'],
      ['sum(1:1e9)', 'at most 100000 elements'],
      ['cos(', 'Could not parse the expression'],
      ['x + 1', 'Undefined symbol x'],
    ] as const) {
      const result = await call(client, 'calculator', { expression });
      expect(result.isError, expression).toBe(true);
      expect(textOf(result), expression).toContain(fragment);
    }
    // The instance is shared by every request: a refused config() must not have switched it to BigNumber.
    const after = await call(client, 'calculator', { expression: '1/3' });
    expect(after.structuredContent).toMatchObject({ type: 'number' });
  });

  it('stops an expression that evaluates too long, keeps serving meanwhile, and evaluates the next one', async () => {
    const hasty = new WorkerCalculator({ timeoutMs: 300, logger });
    try {
      const server = await startTools({ calculator: hasty });
      const client = await connect(server);
      await hasty.warm();
      // Seconds of loop in mathjs: in the server's own thread it would hold up every other call.
      const slow = call(client, 'calculator', { expression: 'combinations(1000000000, 500000000)' });
      const meanwhile = await call(client, 'current_time', { timezone: 'UTC' });
      expect(meanwhile.isError).toBeFalsy();
      const stopped = await slow;
      expect(stopped.isError).toBe(true);
      expect(textOf(stopped)).toContain('took longer than 300 ms to evaluate and was stopped');
      const next = await call(client, 'calculator', { expression: '6*7' });
      expect(next.structuredContent).toMatchObject({ value: 42 });
    } finally {
      await hasty.close();
    }
  });

  it('rejects arguments that break the input schema as a tool error', async () => {
    const client = await connect(tools);
    const result = await call(client, 'calculator', { expression: 42 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/expression/);
  });

  it('converts units and explains dimension mismatches and unknown units', async () => {
    const client = await connect(tools);
    const temperature = await call(client, 'convert_units', { value: 100, from: 'degC', to: 'degF' });
    expect(temperature.structuredContent).toEqual({ value: 100, from: 'degC', to: 'degF', result: 212, formatted: '212 degF' });
    const speed = await call(client, 'convert_units', { value: 36, from: 'km/h', to: 'm/s' });
    expect(speed.structuredContent).toMatchObject({ result: 10 });
    const mismatch = await call(client, 'convert_units', { value: 1, from: 'kg', to: 'm' });
    expect(mismatch.isError).toBe(true);
    expect(textOf(mismatch)).toContain('they measure different things (mass vs length)');
    const unknown = await call(client, 'convert_units', { value: 1, from: 'furlongz', to: 'm' });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toContain('"furlongz" (from) is not a unit');
    const withNumber = await call(client, 'convert_units', { value: 1, from: '5 m', to: 'cm' });
    expect(textOf(withNumber)).toContain('without a number');
  });

  it('answers date and time questions across zones', async () => {
    const client = await connect(tools);
    const now = await call(client, 'current_time', { timezone: 'Asia/Tokyo' });
    expect(now.structuredContent).toMatchObject({ iso: '2025-03-15T00:09:26.000+09:00', utc_offset: '+09:00', day_of_week: 'Saturday' });

    const converted = await call(client, 'convert_time', { datetime: '2025-07-01T09:00', from_timezone: 'America/New_York', to_timezone: 'Europe/Paris' });
    expect(converted.structuredContent).toMatchObject({ from: { utc_offset: '-04:00' }, to: { iso: '2025-07-01T15:00:00.000+02:00' } });

    // Crossing the spring DST change in Paris: calendar days, not 24-hour blocks.
    const added = await call(client, 'add_duration', { datetime: '2025-03-29T12:00', timezone: 'Europe/Paris', duration: { days: 1 } });
    expect(added.structuredContent).toMatchObject({ duration: 'P1D', result: { iso: '2025-03-30T12:00:00.000+02:00' } });
    const subtracted = await call(client, 'add_duration', { datetime: '2025-03-31', operation: 'subtract', duration: { months: 1 } });
    expect(subtracted.structuredContent).toMatchObject({ result: { iso: '2025-02-28T00:00:00.000Z' } });

    const difference = await call(client, 'date_difference', { start: '2025-01-01', end: '2025-03-14T12:30', units: ['days', 'hours', 'minutes'] });
    expect(difference.structuredContent).toMatchObject({ difference: { days: 72, hours: 12, minutes: 30 }, readable: '72 days, 12 hours, 30 minutes', total_days: 72.521 });

    const day = await call(client, 'day_of_week', { date: '2024-02-29' });
    expect(day.structuredContent).toEqual({ date: '2024-02-29', day_of_week: 'Thursday', iso_weekday: 4, iso_week: 9, day_of_year: 60, is_weekend: false });
  });

  it('validates time zones and dates with errors that say what to send', async () => {
    const client = await connect(tools);
    const zone = await call(client, 'current_time', { timezone: 'Mars/Olympus' });
    expect(zone.isError).toBe(true);
    expect(textOf(zone)).toContain('Unknown time zone "Mars/Olympus"');
    const date = await call(client, 'day_of_week', { date: '14/03/2025' });
    expect(date.isError).toBe(true);
    expect(textOf(date)).toContain('as an ISO 8601 date');
    const empty = await call(client, 'add_duration', { datetime: '2025-01-01', duration: {} });
    expect(textOf(empty)).toContain('The duration is empty');
  });

  it('reports an unconfigured knowledge base, weather and web search as tool errors', async () => {
    const client = await connect(tools);
    const kb = await call(client, 'knowledge_base_search', { query: 'refund policy' });
    expect(kb.isError).toBe(true);
    expect(textOf(kb)).toContain('knowledge base is not configured');
    const weather = await call(client, 'weather', { location: 'Paris' });
    expect(weather.isError).toBe(true);
    expect(textOf(weather)).toContain('Weather is not configured');
    const search = await call(client, 'web_search', { query: 'ensemble' });
    expect(search.isError).toBe(true);
    expect(textOf(search)).toContain('Web search is not configured');
  });

  it('answers GET with 405 (stateless) and serves /health', async () => {
    const get = await fetch(`${tools.url}/mcp`, { headers: { accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await get.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    const health = await fetch(`${tools.url}/health`);
    expect(await health.json()).toEqual({ status: 'ok', service: 'mcp-tools' });
  });

  it('refuses browser origins that are not loopback or allowed', async () => {
    const response = await fetch(`${tools.url}/mcp`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { code: 'origin_not_allowed' } });
  });
});

describe('bearer auth on /mcp', () => {
  it('rejects missing and wrong tokens, accepts a configured one', async () => {
    const tools = await startTools({ authTokens: ['tools-secret'] });
    const noToken = await fetch(`${tools.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toBe('Bearer');
    await expect(connect(tools, { Authorization: 'Bearer nope' })).rejects.toThrow();
    const client = await connect(tools, { Authorization: 'Bearer tools-secret' });
    const result = await call(client, 'calculator', { expression: '6*7' });
    expect(result.structuredContent).toMatchObject({ value: 42 });
    // Health stays open for probes.
    expect((await fetch(`${tools.url}/health`)).status).toBe(200);
  });
});

describe('knowledge_base_search with a knowledge base', () => {
  it('passes query, top_k and filter through and returns the hits', async () => {
    const seen: Array<{ query: string; options: KnowledgeBaseSearchOptions }> = [];
    const knowledgeBase: KnowledgeBase = {
      async search(query, options) {
        seen.push({ query, options });
        return [{ title: 'Refunds', source: 'docs/refunds.md', snippet: 'Refunds within 30 days.', score: 0.91 }];
      },
    };
    const tools = await startTools({ knowledgeBase });
    const client = await connect(tools);
    const result = await call(client, 'knowledge_base_search', { query: 'refund window', top_k: 3, filter: { collection: 'handbook' } });
    expect(result.structuredContent).toEqual({
      query: 'refund window',
      results: [{ title: 'Refunds', source: 'docs/refunds.md', snippet: 'Refunds within 30 days.', score: 0.91 }],
    });
    expect(seen[0]).toMatchObject({ query: 'refund window', options: { topK: 3, filter: { collection: 'handbook' } } });
  });

  it('shows a backend failure as a tool error and hides unexpected internals', async () => {
    let calls = 0;
    const knowledgeBase: KnowledgeBase = {
      async search() {
        calls += 1;
        if (calls === 1) throw new EnsembleError(ErrorCode.UpstreamUnavailable, 'The vector store is unreachable; try again later');
        throw new Error('password=hunter2 at db.internal:5432');
      },
    };
    const tools = await startTools({ knowledgeBase });
    const client = await connect(tools);
    const known = await call(client, 'knowledge_base_search', { query: 'x' });
    expect(known.isError).toBe(true);
    expect(textOf(known)).toBe('The vector store is unreachable; try again later');
    const unexpected = await call(client, 'knowledge_base_search', { query: 'x' });
    expect(unexpected.isError).toBe(true);
    expect(textOf(unexpected)).toContain('failed unexpectedly');
    expect(textOf(unexpected)).not.toContain('hunter2');
  });
});

describe('weather against an Open-Meteo-compatible API', () => {
  const forecast = {
    latitude: 48.86,
    longitude: 2.35,
    timezone: 'Europe/Paris',
    current_units: { temperature_2m: '°C', wind_speed_10m: 'km/h', precipitation: 'mm' },
    current: { time: '2025-03-14T15:00', temperature_2m: 12.3, apparent_temperature: 10.1, relative_humidity_2m: 60, precipitation: 0, wind_speed_10m: 14.2, weather_code: 2 },
    daily: {
      time: ['2025-03-14', '2025-03-15'],
      weather_code: [2, 61],
      temperature_2m_max: [14.1, 11],
      temperature_2m_min: [5.2, null],
      precipitation_sum: [0, 3.4],
      precipitation_probability_max: [10, 80],
    },
  };

  it('geocodes a place name, fetches the forecast and describes it', async () => {
    const api = await startFakeApi({
      '/v1/search': () => ({ body: { results: [{ name: 'Paris', latitude: 48.85341, longitude: 2.3488, country: 'France', admin1: 'Île-de-France', timezone: 'Europe/Paris' }] } }),
      '/v1/forecast': () => ({ body: forecast }),
    });
    try {
      const tools = await startTools({ weather: { forecastUrl: api.url, geocodingUrl: api.url, timeoutMs: 2_000 } });
      const client = await connect(tools);
      const result = await call(client, 'weather', { location: 'Paris', days: 2 });
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({
        location: { name: 'Paris', country: 'France', region: 'Île-de-France', latitude: 48.85341, timezone: 'Europe/Paris' },
        units: { temperature: '°C' },
        current: { temperature: 12.3, conditions: 'partly cloudy', relative_humidity: 60 },
        daily: [
          { date: '2025-03-14', temperature_max: 14.1, conditions: 'partly cloudy' },
          { date: '2025-03-15', temperature_min: null, precipitation_probability_max: 80, conditions: 'slight rain' },
        ],
      });
      const forecastRequest = api.requests.find((url) => url.pathname === '/v1/forecast');
      expect(forecastRequest?.searchParams.get('latitude')).toBe('48.85341');
      expect(forecastRequest?.searchParams.get('forecast_days')).toBe('2');
      expect(api.requests.find((url) => url.pathname === '/v1/search')?.searchParams.get('name')).toBe('Paris');

      const unknownPlace = await startFakeApi({ '/v1/search': () => ({ body: { generationtime_ms: 0.1 } }) });
      try {
        const nowhere = await startTools({ weather: { forecastUrl: api.url, geocodingUrl: unknownPlace.url, timeoutMs: 2_000 } });
        const nowhereClient = await connect(nowhere);
        const missing = await call(nowhereClient, 'weather', { location: 'Atlantis' });
        expect(missing.isError).toBe(true);
        expect(textOf(missing)).toContain('No place called "Atlantis"');
      } finally {
        await unknownPlace.close();
      }
    } finally {
      await api.close();
    }
  });

  it('reports upstream HTTP errors, malformed data, timeouts and unreachable APIs as tool errors', async () => {
    const api = await startFakeApi({
      '/bad/v1/forecast': () => ({ status: 400, body: { error: true, reason: 'Latitude must be in range of -90 to 90°' } }),
      '/shape/v1/forecast': () => ({ body: { hello: 'world' } }),
      '/slow/v1/forecast': () => 'hang',
    });
    try {
      const cases: Array<[string, RegExp]> = [
        [`${api.url}/bad`, /answered HTTP 400: Latitude must be in range/],
        [`${api.url}/shape`, /unexpected shape/],
        [`${api.url}/slow`, /did not answer within 300 ms/],
        [`http://127.0.0.1:${await freePort()}`, /is unreachable/],
      ];
      for (const [forecastUrl, expected] of cases) {
        const tools = await startTools({ weather: { forecastUrl, timeoutMs: 300 } });
        const client = await connect(tools);
        const result = await call(client, 'weather', { latitude: 10, longitude: 20 });
        expect(result.isError, forecastUrl).toBe(true);
        expect(textOf(result), forecastUrl).toMatch(expected);
      }
      // Place names need geocoding; without it the error says to pass coordinates.
      const tools = await startTools({ weather: { forecastUrl: api.url, timeoutMs: 300 } });
      const result = await call(await connect(tools), 'weather', { location: 'Oslo' });
      expect(textOf(result)).toContain('call again with "latitude" and "longitude"');
    } finally {
      await api.close();
    }
  });
});

describe('web_search', () => {
  it('queries Brave with the subscription token and returns plain-text results', async () => {
    const api = await startFakeApi({
      '/res/v1/web/search': () => ({
        body: {
          web: {
            results: [
              { title: 'The <strong>A2A</strong> protocol', url: 'https://a2a.example/spec', description: 'Agents talk &amp; <strong>collaborate</strong>', page_age: '2025-01-02' },
              { title: 'Second', url: 'https://two.example' },
            ],
          },
        },
      }),
    });
    try {
      const tools = await startTools({ webSearch: { provider: 'brave', apiUrl: api.url, apiKey: 'brave-key', timeoutMs: 2_000 } });
      const result = await call(await connect(tools), 'web_search', { query: 'a2a protocol', count: 2 });
      expect(result.structuredContent).toEqual({
        query: 'a2a protocol',
        provider: 'brave',
        results: [
          { title: 'The A2A protocol', url: 'https://a2a.example/spec', snippet: 'Agents talk & collaborate', published: '2025-01-02' },
          { title: 'Second', url: 'https://two.example', snippet: '' },
        ],
      });
      expect(api.requests[0]?.searchParams.get('q')).toBe('a2a protocol');
      expect(api.requests[0]?.searchParams.get('count')).toBe('2');
      expect(api.headers[0]?.['x-subscription-token']).toBe('brave-key');
    } finally {
      await api.close();
    }
  });

  it('queries a SearXNG instance in JSON format and caps the result count', async () => {
    const api = await startFakeApi({
      '/search': () => ({
        body: { results: [1, 2, 3].map((n) => ({ title: `Result ${n}`, url: `https://r${n}.example`, content: `snippet ${n}`, publishedDate: null })) },
      }),
    });
    try {
      const tools = await startTools({ webSearch: { provider: 'searxng', apiUrl: api.url, timeoutMs: 2_000 } });
      const result = await call(await connect(tools), 'web_search', { query: 'mcp', count: 2 });
      expect(result.structuredContent).toEqual({
        query: 'mcp',
        provider: 'searxng',
        results: [
          { title: 'Result 1', url: 'https://r1.example', snippet: 'snippet 1' },
          { title: 'Result 2', url: 'https://r2.example', snippet: 'snippet 2' },
        ],
      });
      expect(api.requests[0]?.searchParams.get('format')).toBe('json');
    } finally {
      await api.close();
    }
  });

  it('reports an unreachable provider and a refused key without leaking the key', async () => {
    const api = await startFakeApi({ '/res/v1/web/search': () => ({ status: 401, body: { error: { detail: 'Invalid subscription token' } } }) });
    try {
      const refused = await startTools({ webSearch: { provider: 'brave', apiUrl: api.url, apiKey: 'sk-very-secret', timeoutMs: 2_000 } });
      const result = await call(await connect(refused), 'web_search', { query: 'x' });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('answered HTTP 401: Invalid subscription token');
      expect(textOf(result)).not.toContain('sk-very-secret');
    } finally {
      await api.close();
    }
    const down = await startTools({ webSearch: { provider: 'searxng', apiUrl: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2_000 } });
    const result = await call(await connect(down), 'web_search', { query: 'x' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Web search \(SearXNG\) \(127\.0\.0\.1:\d+\) is unreachable/);
  });
});

describe('knowledge_base_search over the vector store', () => {
  it('answers from ingested documents with titles, sources and scores, best first', async () => {
    const embedder = new LexicalEmbedder();
    const store = new InMemoryVectorStore(embedder);
    await store.setup();
    const summary = await ingestPaths(['data/sample-corpus/**/*.md'], { store, embedder }, { cwd: REPO_ROOT });
    expect(summary.skipped).toEqual([]);
    let closed = false;
    const knowledgeBase = new VectorKnowledgeBase(async () => ({ store, embedder, close: async () => void (closed = true) }));
    const client = await connect(await startTools({ knowledgeBase }));

    const result = await call(client, 'knowledge_base_search', { query: 'Which vector index does pgvector use for approximate nearest neighbour search?', top_k: 3 });
    expect(result.isError).not.toBe(true);
    const hits = (result.structuredContent as { results: Array<{ title: string; source: string; snippet: string; score: number }> }).results;
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.length).toBeLessThanOrEqual(3);
    expect(hits[0]!.source).toMatch(/pgvector/i);
    expect(hits[0]!.snippet.toLowerCase()).toContain('hnsw');
    expect(hits.map((hit) => hit.score)).toEqual([...hits.map((hit) => hit.score)].sort((a, b) => b - a));
    await knowledgeBase.close();
    expect(closed).toBe(true);
  });

  it('reports a database that cannot be opened as a tool error, and retries on the next search', async () => {
    let attempts = 0;
    const knowledgeBase = new VectorKnowledgeBase(async () => {
      attempts += 1;
      throw new EnsembleError(ErrorCode.Unavailable, 'database is down');
    });
    const client = await connect(await startTools({ knowledgeBase }));
    const first = await call(client, 'knowledge_base_search', { query: 'anything' });
    expect(first.isError).toBe(true);
    expect(textOf(first)).toContain('database is down');
    await call(client, 'knowledge_base_search', { query: 'anything' });
    expect(attempts).toBe(2);
  });
});
