/**
 * `npm run bench:peers`: installs the peers the benchmarks compare Ensemble with into `bench/.peers/`
 * (gitignored), a standalone npm project outside the workspaces, so the project's own install does not grow.
 *
 * - `@portkey-ai/gateway` for `bench:gateway --peers`. Its streams fail with `TypeError: immutable` under
 *   `@hono/node-server` 1.19+ (their issue #1389), so `overrides` pins 1.13.x under it.
 * - `@langchain/langgraph` (+ `@langchain/core`) and `@mastra/core` for `bench:dag --peers`. Mastra 1.x
 *   declares Node >= 22.13 (the project's Node 24 meets it); it is pinned exactly so an npm running on an
 *   older Node.js does not fall back to 0.x.
 *
 * Re-running it is cheap: npm leaves an up-to-date install alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PEERS_DIR = fileURLToPath(new URL('./.peers/', import.meta.url));

const manifest = {
  name: 'ensemble-bench-peers',
  private: true,
  description: 'Peers the benchmarks measure Ensemble against (installed by `npm run bench:peers`; not part of the workspaces).',
  type: 'module',
  dependencies: {
    '@portkey-ai/gateway': '1.15.2',
    '@langchain/langgraph': '1.7.3',
    '@langchain/core': '1.4.0',
    '@mastra/core': '1.71.0',
    zod: '^4.2.0',
  },
  overrides: {
    '@portkey-ai/gateway': { '@hono/node-server': '1.13.8' },
  },
};

function main(): void {
  mkdirSync(PEERS_DIR, { recursive: true });
  const path = `${PEERS_DIR}package.json`;
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // First install.
  }
  if (current !== text) writeFileSync(path, text);
  console.log(`installing benchmark peers into ${PEERS_DIR}`);
  // `--workspaces=false`: the folder sits inside the repository, but is its own project.
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--workspaces=false', '--engine-strict=false'], { cwd: PEERS_DIR, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`npm install failed in ${PEERS_DIR} (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  console.log('benchmark peers installed: @portkey-ai/gateway, @langchain/langgraph, @mastra/core');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
