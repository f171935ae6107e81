import { describe, expect, it } from 'vitest';

import { agentCardToJson, buildAgentCard, parseAgentCard, toLegacyAgentCardJson } from './card.js';

const spec = {
  name: 'search-agent',
  description: 'Searches the web',
  skills: [{ id: 'web-search', name: 'Web search', description: 'Finds pages', tags: ['search'], examples: ['latest node release'] }],
};

describe('buildAgentCard', () => {
  it('declares JSON-RPC then HTTP+JSON at the base URL, plus a v0.3 JSON-RPC twin with compat on', () => {
    const card = buildAgentCard(spec, { baseUrl: 'http://127.0.0.1:9000/', bearerAuth: false, legacyCompat: true });
    expect(card.supportedInterfaces).toEqual([
      { url: 'http://127.0.0.1:9000/a2a/jsonrpc', protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
      { url: 'http://127.0.0.1:9000/a2a/rest', protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
      { url: 'http://127.0.0.1:9000/a2a/jsonrpc', protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '0.3' },
    ]);
    expect(card.securitySchemes).toEqual({});
    expect(card.capabilities).toMatchObject({ streaming: true, pushNotifications: false });
    expect(buildAgentCard(spec, { baseUrl: 'http://h', bearerAuth: false, legacyCompat: false }).supportedInterfaces).toHaveLength(2);
  });

  it('declares bearer auth in securitySchemes and securityRequirements when tokens are configured', () => {
    const json = agentCardToJson(buildAgentCard(spec, { baseUrl: 'http://h', bearerAuth: true, legacyCompat: true }));
    expect(json['securitySchemes']).toEqual({ bearer: { httpAuthSecurityScheme: { description: expect.any(String) as string, scheme: 'Bearer' } } });
    expect(json['securityRequirements']).toEqual([{ schemes: { bearer: {} } }]);
    const legacy = toLegacyAgentCardJson(buildAgentCard(spec, { baseUrl: 'http://h', bearerAuth: true, legacyCompat: true }));
    // v0.3 members and the v1.0 oneof member side by side: each reader finds its own shape.
    expect(legacy['securitySchemes']).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: expect.any(String) as string, httpAuthSecurityScheme: { description: expect.any(String) as string, scheme: 'Bearer' } },
    });
    expect(legacy['security']).toEqual([{ bearer: [] }]);
    expect(legacy['securityRequirements']).toEqual([{ schemes: { bearer: {} } }]);
    expect(legacy['additionalInterfaces']).toEqual([{ url: 'http://h/a2a/jsonrpc', transport: 'JSONRPC' }]);
  });
});

describe('parseAgentCard', () => {
  it('reads the v1.0 wire form back into the same card', () => {
    const card = buildAgentCard(spec, { baseUrl: 'http://h', bearerAuth: true, legacyCompat: true });
    expect(parseAgentCard(JSON.parse(JSON.stringify(agentCardToJson(card))))).toEqual(card);
  });

  it('reads a v0.3 card (url + preferredTransport) as a v1.0 card with a 0.3 interface', () => {
    const legacy = toLegacyAgentCardJson(buildAgentCard(spec, { baseUrl: 'http://h', bearerAuth: false, legacyCompat: true }));
    delete legacy['supportedInterfaces'];
    const parsed = parseAgentCard(legacy);
    expect(parsed.name).toBe('search-agent');
    expect(parsed.supportedInterfaces).toEqual([expect.objectContaining({ url: 'http://h/a2a/jsonrpc', protocolBinding: 'JSONRPC', protocolVersion: '0.3' })]);
    expect(parsed.skills[0]).toMatchObject({ id: 'web-search', examples: ['latest node release'] });
  });

  it('rejects documents that are not agent cards', () => {
    expect(() => parseAgentCard([1, 2])).toThrow(/not a JSON object/);
    expect(() => parseAgentCard({ name: 'x' })).toThrow(/no name or no endpoint/);
  });
});
