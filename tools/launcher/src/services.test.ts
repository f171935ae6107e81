import { loadConfig } from '@ensemble/config';
import { describe, expect, it } from 'vitest';

import { LauncherConfig } from './config.js';
import { type LaunchContext, planServices } from './services.js';

/** The plan as started: every service's spec resolved against URLs of the services before it. */
function resolved(env: Record<string, string>) {
  const config = loadConfig(LauncherConfig, env);
  const urls = new Map<string, string>();
  const context: LaunchContext = { config, urls };
  const specs = new Map<string, Record<string, string>>();
  for (const service of planServices(config, { internalToken: 'internal' }).sort((a, b) => a.wave - b.wave)) {
    const spec = service.spec(context);
    specs.set(service.name, spec.env);
    urls.set(service.name, `http://127.0.0.1:${spec.env[spec.portVariable] ?? '9'}`);
  }
  return specs;
}

describe('make up with REPLICAS', () => {
  it('runs one gateway and one orchestrator by default', () => {
    const specs = resolved({});
    expect([...specs.keys()].filter((name) => /^(gateway|orchestrator)/.test(name))).toEqual(['orchestrator', 'gateway']);
    expect(specs.get('gateway')?.['ORCHESTRATOR_URL']).toBe('http://127.0.0.1:8001');
  });

  it('with REPLICAS=2 runs two of each on the next ports, every gateway given every orchestrator', () => {
    const specs = resolved({ REPLICAS: '2' });
    expect([...specs.keys()].filter((name) => /^(gateway|orchestrator)/.test(name))).toEqual(['orchestrator', 'orchestrator-2', 'gateway', 'gateway-2']);
    expect(specs.get('orchestrator-2')).toMatchObject({ ORCHESTRATOR_PORT: '8021', AGENT_CLIENT_TOKEN: 'internal' });
    expect(specs.get('gateway-2')).toMatchObject({ GATEWAY_PORT: '8020' });
    for (const gateway of ['gateway', 'gateway-2']) expect(specs.get(gateway)?.['ORCHESTRATOR_URL']).toBe('http://127.0.0.1:8001,http://127.0.0.1:8021');
    // Same Redis for all: that is what makes the replicas interchangeable.
    expect(new Set(['orchestrator', 'orchestrator-2', 'gateway', 'gateway-2'].map((name) => specs.get(name)?.['REDIS_URL'])).size).toBe(1);
  });

  it('keeps port 0 (any free port) for every replica, and refuses a replica count out of range', () => {
    expect(resolved({ REPLICAS: '2', ORCHESTRATOR_PORT: '0' }).get('orchestrator-2')?.['ORCHESTRATOR_PORT']).toBe('0');
    expect(() => loadConfig(LauncherConfig, { REPLICAS: '0' })).toThrow(/REPLICAS/);
  });
});

describe('make up and A2A push notifications', () => {
  it('lets every A2A service accept webhooks on private networks, unless told otherwise', () => {
    const a2aServices = ['mock-search', 'mock-analysis', 'reasoning-agent', 'rag-agent', 'planning-agent', 'orchestrator'];
    const specs = resolved({});
    for (const name of a2aServices) expect(specs.get(name)?.['A2A_PUSH_ALLOW_PRIVATE'], name).toBe('true');
    const strict = resolved({ A2A_PUSH_ALLOW_PRIVATE: 'false' });
    for (const name of a2aServices) expect(strict.get(name)?.['A2A_PUSH_ALLOW_PRIVATE'], name).toBe('false');
  });
});
