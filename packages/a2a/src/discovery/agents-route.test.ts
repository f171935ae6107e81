import { AgentCard } from '@a2a-js/sdk';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';

import type { AgentInfo } from './agent-registry.js';
import { type AgentList, agentsRoute } from './agents-route.js';

const card = AgentCard.fromJSON({
  name: 'search',
  description: 'Searches',
  supportedInterfaces: [{ url: 'http://127.0.0.1:1/a2a/jsonrpc', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
});

const agents: AgentInfo[] = [
  {
    name: 'search',
    url: 'http://127.0.0.1:1',
    endpoint: 'http://127.0.0.1:1/a2a/jsonrpc',
    status: 'unavailable',
    lastChecked: '2030-01-01T00:00:00.000Z',
    lastError: 'health check answered 503',
    card,
    summary: {
      name: 'search',
      description: 'Searches',
      version: '1.0.0',
      interfaces: [{ url: 'http://127.0.0.1:1/a2a/jsonrpc', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
      streaming: false,
      skills: [{ id: 'web-search', name: 'Web search', description: '', tags: [], examples: [] }],
    },
  },
  { name: null, url: 'http://127.0.0.1:2', endpoint: null, status: 'unknown', lastChecked: null, lastError: null, card: null, summary: null },
];

describe('agentsRoute', () => {
  it('lists every configured agent, known or not, in the OpenAI list shape', async () => {
    const app = new Hono();
    app.get('/v1/agents', agentsRoute({ list: () => agents }));
    const response = await app.request('/v1/agents');
    expect(response.status).toBe(200);
    const body = (await response.json()) as AgentList;
    expect(body).toEqual({
      object: 'list',
      data: [
        {
          object: 'agent',
          name: 'search',
          url: 'http://127.0.0.1:1',
          endpoint: 'http://127.0.0.1:1/a2a/jsonrpc',
          status: 'unavailable',
          available: false,
          last_checked: '2030-01-01T00:00:00.000Z',
          last_error: 'health check answered 503',
          description: 'Searches',
          skills: [{ id: 'web-search', name: 'Web search', description: '', tags: [], examples: [] }],
          card: AgentCard.toJSON(card),
        },
        {
          object: 'agent',
          name: null,
          url: 'http://127.0.0.1:2',
          endpoint: null,
          status: 'unknown',
          available: false,
          last_checked: null,
          last_error: null,
          description: null,
          skills: [],
          card: null,
        },
      ],
    });
  });
});
