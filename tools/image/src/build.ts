import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';
import { glob } from 'tinyglobby';

/**
 * The build step of the container image. It writes the runtime layout (everything the image holds except
 * `node_modules`) into one directory:
 *
 * - the root `package.json` and `package-lock.json`, so `npm ci --omit=dev --omit=optional` there installs exactly the
 *   production dependencies the lock file names, laid out as npm lays them out (nested ones included);
 * - every workspace's `package.json`, its `exports` pointing at `dist/*.js` instead of `src/*.ts`;
 * - every workspace's `src/**` compiled file by file to `dist/**` (ESM, source maps, tests left out), its
 *   other files under `src/` (JSON a module imports) copied beside them;
 * - `config/`, the sample corpus, the container entrypoint and the image's MCP configuration;
 * - the web console's Vite build (`apps/console/dist`, made by `npm run build:console` before this step),
 *   copied as is: the gateway serves it at `/console`. Its sources are browser code, never compiled here.
 *
 * Why compile per file with esbuild rather than bundle, or run `tsc -b`: in the repository the workspaces
 * export their TypeScript sources, which tsx, vitest and the typecheck rely on, so development keeps them
 * untouched and only the layout's copies of the manifests point at `dist/` (what pnpm's
 * `publishConfig.exports` does). A bundle would move each package's code away from its own `node_modules`
 * and break the nested dependencies npm installs there; `tsc` would emit the same files ten times slower on
 * our machines, and types are checked by `npm run typecheck` anyway. Imports keep their `.js` suffixes
 * (NodeNext), so the compiled files resolve exactly as the sources do.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Besides the compiled workspaces: the services' configuration, the sample corpus, the entrypoint, and the
 * MCP configuration the image's `MCP_CONFIG_FILE` names (without it the reasoning agent cannot start).
 */
const EXTRA_PATHS = ['config', 'data/sample-corpus', 'deploy/docker/entrypoint.sh', 'deploy/docker/mcp-servers.json'];

/** Workspaces built by Vite for the browser: their `dist/` is copied from the repository, not compiled. */
export const WEB_APPS: readonly string[] = ['apps/console'];

export interface LayoutResult {
  outDir: string;
  /** Workspace folders written, relative to `outDir` (`apps/gateway`, `packages/a2a`, ...). */
  workspaces: string[];
  /** Compiled files written. */
  compiledFiles: number;
}

interface Manifest {
  workspaces?: string[];
  exports?: Record<string, string | Record<string, string>>;
  bin?: unknown;
  scripts?: unknown;
  [key: string]: unknown;
}

/** `./src/redis/index.ts` -> `./dist/redis/index.js`. */
export function compiledPath(sourcePath: string): string {
  return sourcePath.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '.js');
}

function compiledManifest(manifest: Manifest): Manifest {
  const { bin: _bin, scripts: _scripts, ...rest } = manifest;
  if (rest.exports === undefined) return rest;
  const exports = Object.fromEntries(
    Object.entries(rest.exports).map(([key, target]) => [
      key,
      typeof target === 'string' ? compiledPath(target) : Object.fromEntries(Object.entries(target).map(([condition, path]) => [condition, compiledPath(path)])),
    ]),
  );
  return { ...rest, exports };
}

export async function buildRuntimeLayout(outDir: string): Promise<LayoutResult> {
  const out = resolve(outDir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const rootManifest = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
  await writeFile(join(out, 'package.json'), `${JSON.stringify({ ...rootManifest, scripts: {}, devDependencies: rootManifest['devDependencies'] }, null, 2)}\n`);
  await cp(join(REPO_ROOT, 'package-lock.json'), join(out, 'package-lock.json'));

  const workspaces = (await glob((rootManifest.workspaces ?? []).map((pattern) => `${pattern}/package.json`), { cwd: REPO_ROOT }))
    .map((manifestPath) => dirname(manifestPath))
    .sort();
  let compiledFiles = 0;
  for (const workspace of workspaces) {
    const manifest = JSON.parse(await readFile(join(REPO_ROOT, workspace, 'package.json'), 'utf8')) as Manifest;
    await mkdir(join(out, workspace), { recursive: true });
    await writeFile(join(out, workspace, 'package.json'), `${JSON.stringify(compiledManifest(manifest), null, 2)}\n`);
    if (WEB_APPS.includes(workspace)) {
      await copyWebBuild(workspace, out);
      continue;
    }
    const sources = await glob(['src/**/*.ts'], { cwd: join(REPO_ROOT, workspace), ignore: ['**/*.test.ts', '**/*.d.ts'], absolute: true });
    if (sources.length === 0) continue;
    await build({
      entryPoints: sources,
      outbase: join(REPO_ROOT, workspace, 'src'),
      outdir: join(out, workspace, 'dist'),
      bundle: false,
      platform: 'node',
      format: 'esm',
      // The engines floor: an older target makes esbuild drop import attributes (`with { type: 'json' }`).
      target: 'node24',
      sourcemap: true,
      logLevel: 'warning',
    });
    compiledFiles += sources.length;
    // Files the compiled code reads or imports beside itself (JSON models, templates) go along unchanged.
    const assets = await glob(['src/**/*'], { cwd: join(REPO_ROOT, workspace), ignore: ['**/*.ts', '**/*.tsx', '**/__snapshots__/**', '**/fixtures/**'] });
    for (const asset of assets) await cp(join(REPO_ROOT, workspace, asset), join(out, workspace, asset.replace(/^src\//, 'dist/')));
  }
  for (const path of EXTRA_PATHS) await cp(join(REPO_ROOT, path), join(out, path), { recursive: true });
  return { outDir: out, workspaces, compiledFiles };
}

/** A web app's Vite output, which must exist: an image without its console would serve no `/console`. */
async function copyWebBuild(workspace: string, out: string): Promise<void> {
  const built = join(REPO_ROOT, workspace, 'dist');
  if (!existsSync(join(built, 'index.html'))) {
    throw new Error(`${workspace}/dist/index.html is missing: run \`npm run build:console\` before the image build step`);
  }
  await cp(built, join(out, workspace, 'dist'), { recursive: true });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.argv[2] ?? join(REPO_ROOT, 'dist/image');
  const result = await buildRuntimeLayout(target);
  process.stdout.write(`compiled ${result.compiledFiles} files of ${result.workspaces.length} workspaces into ${result.outDir}\n`);
}
