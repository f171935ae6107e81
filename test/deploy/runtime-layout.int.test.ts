import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { glob } from 'tinyglobby';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildRuntimeLayout } from '../../tools/image/src/build.js';
import { IMAGE_SERVICES, type ImageService } from '../../tools/image/src/services.js';
import { REPO_ROOT, type ServiceProcess, startService, stopAllServices } from '../support/processes.js';
import { testRedis } from '../support/redis.js';
import { dockerfileRuntimeEnv, runtimeStage } from './deploy-support.js';

const run = promisify(execFile);

/**
 * The container image, without a Docker engine: the same build step the Dockerfile's `build` stage runs
 * (`tools/image/src/build.ts`), the same production install its `deps` stage runs (`npm ci --omit=dev --omit=optional`),
 * then every service started through the image's own entrypoint with plain `node` (no tsx anywhere),
 * checked healthy by the image's own HEALTHCHECK script, and stopped with SIGTERM. Start-up timeouts are
 * generous: PGlite's first start alone takes a minute when the shared 2-core machine is loaded.
 */

let layout: string;
const redis = testRedis();
const started: Record<string, ServiceProcess> = {};

/** `/app/...` (the layout's place in the image) and `/data/...` (its volume) in this test's directories. */
function inLayout(imagePath: string): string {
  return imagePath.replace(/^\/app(?=\/|$)/, layout).replace(/^\/data(?=\/|$)/, join(layout, '.data'));
}

/**
 * The environment the Dockerfile's `ENV` gives every service, its image paths moved into the layout. The
 * bind addresses stay on loopback here (dockerfile.test.ts checks the image sets them to 0.0.0.0).
 */
function imageEnv(): Record<string, string> {
  return Object.fromEntries([...dockerfileRuntimeEnv()].filter(([name]) => !name.endsWith('_HOST')).map(([name, value]) => [name, inLayout(value)]));
}

function entrypoint(service: string): [string, ...string[]] {
  return ['sh', join(layout, 'deploy/docker/entrypoint.sh'), service];
}

function startCompiled(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  return startService({ name, command: { argv: entrypoint(name), cwd: layout }, env: { ...imageEnv(), REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, ...env }, timeoutMs: 120_000 });
}

function service(name: string): ImageService {
  const found = IMAGE_SERVICES.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no image service ${name}`);
  return found;
}

/** The image's HEALTHCHECK command, told the port the service really bound (port 0 here). */
async function healthcheck(name: string, port: number): Promise<{ code: number; output: string }> {
  const variable = service(name).portVariable!;
  try {
    const { stdout } = await run('sh', [...entrypoint('healthcheck').slice(1), name], { cwd: layout, env: { ...process.env, [variable]: String(port) } });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, output: failed.stderr };
  }
}

beforeAll(async () => {
  layout = await mkdtemp(join(tmpdir(), 'ensemble-image-'));
  // The Dockerfile's build stage runs `npm run build:console` first; a direct vitest run builds it here if missing.
  if (!existsSync(join(REPO_ROOT, 'apps/console/dist/index.html'))) await run('npm', ['run', '--silent', 'build:console'], { cwd: REPO_ROOT });
  await buildRuntimeLayout(layout);
  await run('npm', ['ci', '--omit=dev', '--omit=optional', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: layout, env: { ...process.env, NODE_ENV: 'production' } });
}, 300_000);

afterAll(async () => {
  await stopAllServices();
  await redis.cleanup();
  if (layout !== undefined) await rm(layout, { recursive: true, force: true });
});

describe('the runtime layout the Dockerfile builds', () => {
  it('holds compiled JavaScript and production dependencies only', async () => {
    for (const candidate of IMAGE_SERVICES) {
      const app = candidate.name === 'mock-agent' ? 'mock-agents' : candidate.name;
      expect(existsSync(join(layout, 'apps', app, 'dist/main.js')), candidate.name).toBe(true);
    }
    // Development tools are not installed, tsx (which runs the TypeScript sources in development) and its
    // esbuild included: nothing in the image can fall back to the sources. The manifests point at the compiled files.
    const installed = await glob(['**/node_modules/{vitest,eslint,typescript,kubernetes-models,tsx,esbuild}/package.json'], { cwd: layout });
    expect(installed).toEqual([]);
    const a2a = JSON.parse(await readFile(join(layout, 'packages/a2a/package.json'), 'utf8')) as { exports: Record<string, string> };
    expect(a2a.exports['.']).toBe('./dist/index.js');
    expect(existsSync(join(layout, 'packages/a2a/src'))).toBe(false);
    // Files modules import beside themselves (the routing model's JSON) are there too.
    // The console (apps/console) is a Vite web app: its sources are not compiled into this layout.
    const assets = await glob(['{apps,packages,tools}/*/src/**/*'], { cwd: REPO_ROOT, ignore: ['**/*.ts', '**/node_modules/**', 'apps/console/**'] });
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) expect(existsSync(join(layout, asset.replace('/src/', '/dist/'))), asset).toBe(true);
  });

  it('holds every file the Dockerfile names under /app (entrypoint, health check, the MCP configuration it points the reasoning agent at)', () => {
    const named = [...new Set([...runtimeStage().matchAll(/\/app\/[\w./-]+/g)].map((match) => match[0].replace(/[.,]$/, '')))];
    expect(named).toEqual(expect.arrayContaining(['/app/deploy/docker/entrypoint.sh', '/app/tools/image/dist/healthcheck.js', '/app/deploy/docker/mcp-servers.json']));
    for (const path of named) expect(existsSync(inLayout(path)), path).toBe(true);
  });

  it('carries the console’s Vite build (and nothing compiled from its sources), which the gateway serves at /console', async () => {
    const built = await glob(['**/*'], { cwd: join(REPO_ROOT, 'apps/console/dist') });
    expect(built).toContain('index.html');
    expect((await glob(['**/*'], { cwd: join(layout, 'apps/console/dist') })).sort()).toEqual(built.sort());
    expect(existsSync(join(layout, 'apps/console/src'))).toBe(false);
  });

  it('starts every service with plain node; each becomes healthy and stops cleanly on SIGTERM', async () => {
    // Started in dependency waves, each wave in parallel: URLs bound on port 0 are known only once up.
    const [sim, pg, mcp, mock] = await Promise.all([
      startCompiled('sim-llm', { SIM_LLM_PORT: '0' }),
      startCompiled('embedded-postgres', { EMBEDDED_PG_PORT: '0', EMBEDDED_PG_DATA_DIR: 'memory' }),
      startCompiled('mcp-tools', { MCP_TOOLS_PORT: '0', EMBEDDED_PG_DATA_DIR: 'memory' }),
      startCompiled('mock-agent', { MOCK_AGENT_PORT: '0', MOCK_AGENT_PRESET: 'search' }),
    ]);
    Object.assign(started, { 'sim-llm': sim, 'embedded-postgres': pg, 'mcp-tools': mcp, 'mock-agent': mock });
    const llm = { OPENAI_BASE_URL: `${sim.url}/v1`, OPENAI_API_KEY: 'image-test' };
    const [rag, reasoning] = await Promise.all([
      startCompiled('rag-agent', { RAG_AGENT_PORT: '0', EMBEDDED_PG_URL: pg.url, EMBEDDED_PG_DATA_DIR: 'memory', ...llm }),
      startCompiled('reasoning-agent', { REASONING_AGENT_PORT: '0', ...llm }),
    ]);
    Object.assign(started, { 'rag-agent': rag, 'reasoning-agent': reasoning });
    const agentUrls = [mock.url, rag.url, reasoning.url].join(',');
    started['planning-agent'] = await startCompiled('planning-agent', { PLANNING_AGENT_PORT: '0', AGENT_URLS: agentUrls, ...llm });
    started['orchestrator'] = await startCompiled('orchestrator', { ORCHESTRATOR_PORT: '0', AGENT_URLS: `${started['planning-agent'].url},${agentUrls}`, ...llm });
    started['gateway'] = await startCompiled('gateway', { GATEWAY_PORT: '0', ORCHESTRATOR_URL: started['orchestrator'].url, AGENT_URLS: agentUrls, ...llm });
    // The image's gateway serves the console it carries.
    const consolePage = await fetch(`${started['gateway'].url}/console`);
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toContain('<div id="root">');

    const expected = IMAGE_SERVICES.filter((candidate) => candidate.probe !== 'none').map((candidate) => candidate.name);
    expect(Object.keys(started).sort()).toEqual([...expected].sort());
    for (const [name, process] of Object.entries(started)) {
      const port = Number(new URL(process.url).port);
      if (service(name).probe === 'http') {
        const response = await fetch(`${process.url}${service(name).healthPath}`);
        expect(response.status, name).toBe(200);
        await response.body?.cancel();
        // Readiness checks each service's real dependencies (Redis, sim-llm, the database, the worker).
        const ready = await fetch(`${process.url}${service(name).readyPath}`);
        expect({ name, status: ready.status, body: await ready.json() }).toMatchObject({ name, status: 200, body: { status: 'ready' } });
      }
      const check = await healthcheck(name, port);
      expect(check.output, name).toMatch(/^healthy: /);
      expect(check.code, name).toBe(0);
    }
    // The calculator's worker thread starts from its compiled file (no tsx in the layout).
    const calculation = await fetch(`${mcp.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'calculator', arguments: { expression: '2+3*4' } } }),
    });
    const reply = await calculation.text();
    expect(reply).toMatch(/"result":\s*"?14/);
    expect(reply).not.toContain('"isError":true');

    // The CLI is a command, not a server: healthy means it does its job from the production install, here
    // against the services' database (its own schema): ingest the corpus the image carries (Markdown, HTML,
    // PDF loaders), then find a passage in it.
    const cli = (...args: string[]) =>
      run('sh', [...entrypoint('cli').slice(1), ...args], { cwd: layout, env: { ...process.env, ...imageEnv(), EMBEDDED_PG_URL: pg.url, VECTOR_STORE_SCHEMA: 'image_cli' } });
    const ingested = JSON.parse((await cli('ingest', join(layout, 'data/sample-corpus'), '--root', layout, '--json')).stdout) as { store: { documents: number } };
    expect(ingested.store.documents).toBeGreaterThanOrEqual(6);
    const hits = JSON.parse((await cli('search', 'HNSW index recall', '-k', '3', '--json')).stdout) as { source: string }[];
    expect(hits.map((hit) => hit.source)).toContain('data/sample-corpus/pgvector-and-hnsw.md');

    const exits = await Promise.all(
      Object.entries(started).map(async ([name, process]) => {
        await process.stop(15_000);
        return { name, code: process.child.exitCode, signal: process.child.signalCode };
      }),
    );
    expect(exits).toEqual(Object.keys(started).map((name) => ({ name, code: 0, signal: null })));
  }, 300_000);

  it('reports an unhealthy service (nothing listening) with exit code 1', async () => {
    const check = await healthcheck('gateway', 1);
    expect(check.code).toBe(1);
    expect(check.output).toMatch(/^unhealthy: gateway: /);
  });

  it('runs the CLI as a command and refuses an unknown service', async () => {
    const help = await run('sh', entrypoint('cli').concat('--help').slice(1), { cwd: layout });
    expect(help.stdout).toMatch(/ingest/);
    await expect(run('sh', entrypoint('no-such-service').slice(1), { cwd: layout })).rejects.toMatchObject({ code: 64 });
  });
});
