import { EnsembleError } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { AgentRegistry, type AgentRegistryOptions, type AgentStatusChange } from './agent-registry.js';
import { type AgentCardCache, InMemoryAgentCardCache } from './card-cache.js';

const CARD_PATH = '/.well-known/agent-card.json';

function v1Card(name: string, base: string, skills: { id: string; name: string; description?: string; tags?: string[]; examples?: string[] }[]) {
  return {
    name,
    description: `${name} agent`,
    version: '1.2.0',
    supportedInterfaces: [
      { url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: `${base}/a2a/rest`, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
    ],
    capabilities: { streaming: true },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills,
    someFutureField: { ignored: true },
  };
}

type Handler = (init: RequestInit | undefined) => Response | Promise<Response>;

/** A fake network: routes by full URL, counts calls, and lets a test swap handlers mid-way. */
function fakeNetwork() {
  const routes = new Map<string, Handler>();
  const calls: string[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : input.toString();
    calls.push(url);
    const handler = routes.get(url);
    if (handler === undefined) throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    return handler(init);
  };
  return {
    fetch,
    calls,
    countOf: (url: string) => calls.filter((call) => call === url).length,
    serve(url: string, handler: Handler) {
      routes.set(url, handler);
    },
    drop(url: string) {
      routes.delete(url);
    },
    agent(base: string, card: unknown, health = 200) {
      routes.set(`${base}${CARD_PATH}`, () => Response.json(card));
      routes.set(`${base}/health`, () => new Response(health === 200 ? 'ok' : 'down', { status: health }));
    },
  };
}

function clock(start = Date.parse('2030-01-01T00:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function registry(network: ReturnType<typeof fakeNetwork>, urls: string[], options: Partial<AgentRegistryOptions> = {}) {
  return new AgentRegistry({ agentUrls: urls, fetch: network.fetch, refreshIntervalMs: 60_000, ...options });
}

const A = 'http://agents.test:9001';
const B = 'http://agents.test:9002';

describe('AgentRegistry: discovery', () => {
  it('discovers a v1.0 card and exposes it to planners and callers', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('search', A, [{ id: 'web-search', name: 'Web search', description: 'Searches the web', tags: ['web'], examples: ['find X'] }]));
    const time = clock();
    const agents = registry(network, [`${A}/`], { now: time.now });
    expect(agents.list()[0]).toMatchObject({ url: A, status: 'unknown', name: null, lastChecked: null, card: null });

    await agents.refresh();

    const [info] = agents.list();
    expect(info).toMatchObject({
      name: 'search',
      url: A,
      endpoint: `${A}/a2a/jsonrpc`,
      status: 'available',
      lastChecked: '2030-01-01T00:00:00.000Z',
      lastError: null,
    });
    expect(info?.card?.supportedInterfaces).toHaveLength(2);
    expect(info?.card?.version).toBe('1.2.0');
    expect(agents.skills()).toEqual([
      {
        agent: 'search',
        url: A,
        endpoint: `${A}/a2a/jsonrpc`,
        description: 'search agent',
        available: true,
        status: 'available',
        streaming: true,
        skills: [{ id: 'web-search', name: 'Web search', description: 'Searches the web', tags: ['web'], examples: ['find X'] }],
      },
    ]);
    expect(agents.get('search')?.url).toBe(A);
    expect(agents.get('nobody')).toBeUndefined();
    expect(agents.resolveSkill('web-search')?.agent.name).toBe('search');
    expect(agents.resolveSkill('no-such-skill')).toBeUndefined();
  });

  it('accepts a v0.3 card (url + preferredTransport)', async () => {
    const network = fakeNetwork();
    network.agent(A, {
      name: 'legacy',
      description: 'old agent',
      url: `${A}/rpc`,
      preferredTransport: 'JSONRPC',
      protocolVersion: '0.3.0',
      version: '0.1.0',
      capabilities: { streaming: false },
      defaultInputModes: ['text'],
      defaultOutputModes: ['text'],
      skills: [{ id: 'echo', name: 'Echo', description: 'echoes', tags: [] }],
    });
    const agents = registry(network, [A]);
    await agents.refresh();
    expect(agents.list()[0]).toMatchObject({ name: 'legacy', status: 'available', endpoint: `${A}/rpc` });
    expect(agents.list()[0]?.summary?.interfaces[0]).toEqual({ url: `${A}/rpc`, protocolBinding: 'JSONRPC', protocolVersion: '0.3.0' });
    expect(agents.skills()[0]?.streaming).toBe(false);
  });

  it.each([
    { name: 'a card without a name', card: { description: 'x', supportedInterfaces: [{ url: `${A}/rpc`, protocolBinding: 'JSONRPC' }] }, error: /^invalid agent card \(name: / },
    { name: 'a card without an endpoint', card: { name: 'x', description: 'x', supportedInterfaces: [] }, error: /^invalid agent card \(supportedInterfaces: the card declares no endpoint/ },
    { name: 'a skill without an id', card: { ...v1Card('x', A, []), skills: [{ name: 'nameless' }] }, error: /^invalid agent card \(skills\.0\.id: / },
  ])('marks an agent serving $name unavailable, saying why', async ({ card, error }) => {
    const network = fakeNetwork();
    network.agent(A, card);
    const agents = registry(network, [A]);
    await agents.refresh();
    const [info] = agents.list();
    expect(info?.status).toBe('unavailable');
    expect(info?.lastError).toMatch(error);
    expect(info?.card).toBeNull();
  });

  it.each([
    { name: 'the card answers 500', setup: (n: ReturnType<typeof fakeNetwork>) => n.serve(`${A}${CARD_PATH}`, () => new Response('x', { status: 500 })), error: /Failed to fetch Agent Card .* 500/ },
    { name: 'health answers 503', setup: (n: ReturnType<typeof fakeNetwork>) => n.agent(A, v1Card('a', A, []), 503), error: /^health check answered 503$/ },
    { name: 'the agent refuses connections', setup: (n: ReturnType<typeof fakeNetwork>) => n.drop(`${A}${CARD_PATH}`), error: /^fetch failed \(ECONNREFUSED\)$/ },
  ])('marks an agent unavailable when $name', async ({ setup, error }) => {
    const network = fakeNetwork();
    network.agent(A, v1Card('a', A, []));
    setup(network);
    const agents = registry(network, [A]);
    await agents.refresh();
    expect(agents.list()[0]?.status).toBe('unavailable');
    expect(agents.list()[0]?.lastError).toMatch(error);
  });

  it('treats a missing health route (404) as healthy: the agent answered', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('third-party', A, []), 404);
    const agents = registry(network, [A]);
    await agents.refresh();
    expect(agents.list()[0]?.status).toBe('available');
  });

  it('skips the health probe when healthPath is null', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('a', A, []), 500);
    const agents = registry(network, [A], { healthPath: null });
    await agents.refresh();
    expect(agents.list()[0]?.status).toBe('available');
    expect(network.countOf(`${A}/health`)).toBe(0);
  });

  it('times out a hung agent', async () => {
    const network = fakeNetwork();
    network.serve(
      `${A}${CARD_PATH}`,
      (init) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason instanceof Error ? init.signal.reason : new Error('aborted')));
        }),
    );
    const agents = registry(network, [A], { requestTimeoutMs: 25 });
    await agents.refresh();
    expect(agents.list()[0]).toMatchObject({ status: 'unavailable', lastError: 'timed out after 25 ms' });
  });

  it('rejects a malformed agent URL at construction and ignores duplicates', () => {
    const network = fakeNetwork();
    expect(() => registry(network, ['not a url'])).toThrow(EnsembleError);
    expect(() => registry(network, ['ftp://agents.test'])).toThrow(/must be http/);
    expect(registry(network, [A, `${A}/`, ` ${A} `]).list()).toHaveLength(1);
  });
});

describe('AgentRegistry: caching', () => {
  it('serves the card from the cache within its TTL and re-fetches after; health is probed every time', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('a', A, []));
    const time = clock();
    const cache = new InMemoryAgentCardCache({ now: time.now });
    const agents = registry(network, [A], { cache, cardTtlMs: 60_000, now: time.now });

    await agents.refresh();
    await agents.refresh();
    expect(network.countOf(`${A}${CARD_PATH}`)).toBe(1);
    expect(network.countOf(`${A}/health`)).toBe(2);

    time.advance(60_001);
    await agents.refresh();
    expect(network.countOf(`${A}${CARD_PATH}`)).toBe(2);
  });

  it('shares cards between registries through one cache', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('a', A, [{ id: 's', name: 'S' }]));
    const cache = new InMemoryAgentCardCache();
    await registry(network, [A], { cache }).refresh();
    const second = registry(network, [A], { cache });
    await second.refresh();
    expect(network.countOf(`${A}${CARD_PATH}`)).toBe(1);
    expect(second.resolveSkill('s')?.agent.status).toBe('available');
  });

  it('falls back to fetching when the cache fails', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('a', A, []));
    const broken: AgentCardCache = {
      get: () => Promise.reject(new Error('redis down')),
      set: () => Promise.reject(new Error('redis down')),
      delete: () => Promise.reject(new Error('redis down')),
    };
    const agents = registry(network, [A], { cache: broken });
    await agents.refresh();
    expect(agents.list()[0]?.status).toBe('available');
  });

  it('shares one run between concurrent refreshes', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('a', A, []));
    const agents = registry(network, [A]);
    await Promise.all([agents.refresh(), agents.refresh(), agents.refresh()]);
    expect(network.countOf(`${A}${CARD_PATH}`)).toBe(1);
  });
});

describe('AgentRegistry: availability', () => {
  it('reports down and up transitions, keeping the last card while down', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('a', A, [{ id: 's', name: 'S' }]));
    const fromOption: AgentStatusChange[] = [];
    const fromListener: AgentStatusChange[] = [];
    const agents = registry(network, [A], { onStatusChange: (change) => fromOption.push(change), healthPath: '/health' });
    const unsubscribe = agents.onStatusChange((change) => fromListener.push(change));
    agents.onStatusChange(() => {
      throw new Error('a broken listener must not stop the others');
    });

    await agents.refresh();
    network.agent(A, v1Card('a', A, [{ id: 's', name: 'S' }]), 503);
    await agents.refresh();
    await agents.refresh(); // still down: no new transition
    expect(agents.skills()[0]).toMatchObject({ agent: 'a', available: false, status: 'unavailable' });
    expect(agents.resolveSkill('s')?.agent.status).toBe('unavailable');
    unsubscribe();
    network.agent(A, v1Card('a', A, [{ id: 's', name: 'S' }]));
    await agents.refresh();

    expect(fromOption.map((change) => [change.previous, change.current, change.error])).toEqual([
      ['unknown', 'available', null],
      ['available', 'unavailable', 'health check answered 503'],
      ['unavailable', 'available', null],
    ]);
    expect(fromListener).toHaveLength(2);
    expect(fromOption[1]).toMatchObject({ url: A, name: 'a' });
  });

  it('prefers an available agent when several serve the same name or skill', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('twin', A, [{ id: 'shared', name: 'Shared' }]), 503);
    network.agent(B, v1Card('twin', B, [{ id: 'shared', name: 'Shared' }]));
    const agents = registry(network, [A, B]);
    await agents.refresh();
    expect(agents.get('twin')?.url).toBe(B);
    expect(agents.resolveSkill('shared')?.agent.url).toBe(B);
  });

  it('checks in the background after start() until stop()', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('a', A, []));
    const agents = registry(network, [A], { refreshIntervalMs: 10 });
    await agents.start();
    expect(agents.list()[0]?.status).toBe('available');

    const wentDown = new Promise<AgentStatusChange>((resolve) => agents.onStatusChange(resolve));
    network.drop(`${A}/health`);
    network.drop(`${A}${CARD_PATH}`);
    expect(await wentDown).toMatchObject({ current: 'unavailable' });
    await agents.stop();

    // Restartable: start() checks at once again.
    network.agent(A, v1Card('a', A, []));
    await agents.start();
    expect(agents.list()[0]?.status).toBe('available');
    await agents.stop();
  });

  it('returns snapshots: mutating list() output does not change the registry', async () => {
    const network = fakeNetwork();
    network.agent(A, v1Card('a', A, [{ id: 's', name: 'S' }]));
    const agents = registry(network, [A]);
    await agents.refresh();
    const [info] = agents.list();
    info!.card!.name = 'changed';
    info!.summary!.skills.length = 0;
    expect(agents.list()[0]?.card?.name).toBe('a');
    expect(agents.skills()[0]?.skills).toHaveLength(1);
  });
});
