import { createHttpApp, type RunningServer, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { testRedis } from '../../../../test/support/redis.js';
import { createAgentService } from '../server/agent-service.js';
import { AgentRegistry, type AgentStatusChange } from './agent-registry.js';
import { type AgentList, agentsRoute } from './agents-route.js';
import { RedisAgentCardCache } from './card-cache.js';

const logger = createLogger({ service: 'discovery-test', level: 'silent' });
const redis = testRedis();

/** A tiny stand-in agent: serves its card (with its real URL) and a health route it can fail. */
class FakeAgent {
  cardRequests = 0;
  healthRequests = 0;
  healthy = true;
  server: RunningServer | undefined;

  constructor(
    readonly name: string,
    readonly skillId: string,
  ) {}

  get url(): string {
    return this.server!.url;
  }

  async start(port = 0): Promise<void> {
    const app = new Hono();
    app.get('/.well-known/agent-card.json', (c) => {
      this.cardRequests += 1;
      const base = new URL(c.req.url).origin;
      return c.json({
        name: this.name,
        description: `${this.name} (test agent)`,
        version: '1.0.0',
        supportedInterfaces: [{ url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
        capabilities: { streaming: true },
        defaultInputModes: ['text/plain'],
        defaultOutputModes: ['text/plain'],
        skills: [{ id: this.skillId, name: this.skillId, description: `does ${this.skillId}`, tags: ['test'] }],
      });
    });
    app.get('/health', (c) => {
      this.healthRequests += 1;
      return this.healthy ? c.json({ status: 'ok' }) : c.json({ status: 'draining' }, 503);
    });
    this.server = await serveHttp(app, { host: '127.0.0.1', port, logger, service: this.name });
  }

  async stop(): Promise<void> {
    await this.server?.close(0);
  }
}

const search = new FakeAgent('search', 'web-search');
const rag = new FakeAgent('rag', 'document-retrieval');
const registries: AgentRegistry[] = [];

function newRegistry(options: { refreshIntervalMs?: number } = {}): AgentRegistry {
  const registry = new AgentRegistry({
    agentUrls: [search.url, rag.url],
    cache: new RedisAgentCardCache(redis.redis, { keyPrefix: redis.prefix }),
    cardTtlMs: 60_000,
    requestTimeoutMs: 2_000,
    refreshIntervalMs: options.refreshIntervalMs ?? 60_000,
    logger,
  });
  registries.push(registry);
  return registry;
}

function nextChange(registry: AgentRegistry, predicate: (change: AgentStatusChange) => boolean): Promise<AgentStatusChange> {
  return new Promise((resolve) => {
    const unsubscribe = registry.onStatusChange((change) => {
      if (!predicate(change)) return;
      unsubscribe();
      resolve(change);
    });
  });
}

beforeAll(async () => {
  await Promise.all([search.start(), rag.start()]);
});

afterAll(async () => {
  await Promise.all(registries.map((registry) => registry.stop()));
  await Promise.all([search.stop(), rag.stop()]);
  await redis.cleanup();
});

describe('AgentRegistry over real HTTP and Redis', () => {
  it('discovers the agents and caches their cards in Redis', async () => {
    const registry = newRegistry();
    await registry.start();
    expect(registry.list().map((agent) => [agent.name, agent.status])).toEqual([
      ['search', 'available'],
      ['rag', 'available'],
    ]);
    expect(registry.resolveSkill('document-retrieval')?.agent.endpoint).toBe(`${rag.url}/a2a/jsonrpc`);
    const ttl = await redis.redis.pttl(`${redis.prefix}agent-card:${search.url}`);
    expect(ttl).toBeGreaterThan(0);
  });

  it('shares the cached cards with a second registry (another service)', async () => {
    const before = { search: search.cardRequests, rag: rag.cardRequests };
    const other = newRegistry();
    await other.refresh();
    expect(other.list().every((agent) => agent.status === 'available')).toBe(true);
    expect(other.skills().map((entry) => entry.skills[0]?.id)).toEqual(['web-search', 'document-retrieval']);
    expect({ search: search.cardRequests, rag: rag.cardRequests }).toEqual(before);
  });

  it('marks an agent down when it stops, and up again when it comes back', async () => {
    const registry = newRegistry({ refreshIntervalMs: 50 });
    await registry.start();
    const port = search.server!.port;

    const down = nextChange(registry, (change) => change.current === 'unavailable');
    await search.stop();
    expect(await down).toMatchObject({ name: 'search', previous: 'available', current: 'unavailable' });
    expect(registry.get('search')?.lastError).toMatch(/ECONNREFUSED/);
    expect(registry.get('rag')?.status).toBe('available');
    expect(registry.skills().find((entry) => entry.agent === 'search')?.available).toBe(false);

    const up = nextChange(registry, (change) => change.current === 'available');
    await search.start(port);
    expect(await up).toMatchObject({ name: 'search', previous: 'unavailable', current: 'available' });
    expect(registry.get('search')?.lastError).toBeNull();
  });

  it('checks an unavailable agent again between full refreshes, and only that one', async () => {
    // Agents of its own: the other tests' registries keep checking `search` and `rag`.
    const steady = new FakeAgent('steady', 'steady-work');
    const flaky = new FakeAgent('flaky', 'flaky-work');
    await Promise.all([steady.start(), flaky.start()]);
    const registry = new AgentRegistry({ agentUrls: [steady.url, flaky.url], refreshIntervalMs: 60_000, recheckUnavailableMs: 50, requestTimeoutMs: 2_000, logger });
    registries.push(registry);
    try {
      flaky.healthy = false;
      await registry.start();
      expect(registry.get('flaky')?.status).toBe('unavailable');
      const checks = { steady: steady.healthRequests, flaky: flaky.healthRequests };
      flaky.healthy = true;
      expect(await nextChange(registry, (change) => change.current === 'available')).toMatchObject({ name: 'flaky', previous: 'unavailable', current: 'available' });
      // Only the unavailable agent was checked again.
      expect(flaky.healthRequests).toBeGreaterThan(checks.flaky);
      expect(steady.healthRequests).toBe(checks.steady);
    } finally {
      await registry.stop();
      await Promise.all([steady.stop(), flaky.stop()]);
    }
  });

  it('marks an agent down while its health check fails', async () => {
    const registry = newRegistry();
    await registry.refresh();
    rag.healthy = false;
    try {
      await registry.refresh();
      expect(registry.get('rag')).toMatchObject({ status: 'unavailable', lastError: 'health check answered 503' });
    } finally {
      rag.healthy = true;
    }
    await registry.refresh();
    expect(registry.get('rag')?.status).toBe('available');
  });

  it('discovers an agent built with the agent-service kit (v1.0 card, /health)', async () => {
    const service = createAgentService({
      logger,
      card: { name: 'kit-echo', description: 'Echoes', skills: [{ id: 'echo', name: 'Echo', description: 'Repeats the input', examples: ['say hi'] }] },
      executor: async (input) => input.text,
    });
    const server = await service.start({ host: '127.0.0.1', port: 0 });
    try {
      const registry = new AgentRegistry({ agentUrls: [server.url], logger });
      await registry.refresh();
      expect(registry.get('kit-echo')).toMatchObject({ status: 'available', endpoint: `${server.url}/a2a/jsonrpc`, lastError: null });
      expect(registry.resolveSkill('echo')?.skill).toEqual({ id: 'echo', name: 'Echo', description: 'Repeats the input', tags: [], examples: ['say hi'] });
    } finally {
      await service.stop(0);
    }
  });

  it('serves GET /v1/agents from the registry', async () => {
    const registry = newRegistry();
    await registry.refresh();
    const app = createHttpApp({ logger });
    app.get('/v1/agents', agentsRoute(registry));
    const gateway = await serveHttp(app, { host: '127.0.0.1', port: 0, logger, service: 'gateway-test' });
    try {
      const response = await fetch(`${gateway.url}/v1/agents`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as AgentList;
      expect(body.object).toBe('list');
      expect(body.data.map((agent) => [agent.name, agent.status, agent.available])).toEqual([
        ['search', 'available', true],
        ['rag', 'available', true],
      ]);
      expect(body.data[0]).toMatchObject({ object: 'agent', url: search.url, last_error: null, skills: [{ id: 'web-search' }] });
      expect(body.data[0]?.card).toMatchObject({ name: 'search', supportedInterfaces: [{ protocolBinding: 'JSONRPC' }] });
    } finally {
      await gateway.close(0);
    }
  });
});
