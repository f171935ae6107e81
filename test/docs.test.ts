import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { REPO_ROOT } from './support/processes.js';

/**
 * The README's configuration table stays true: every variable a service's config schema reads is listed,
 * and every listed variable is read by some schema. Schemas are the source of truth (docs/conventions.md).
 */
const CONFIG_FILES = [
  ...['apps', 'tools'].flatMap((folder) =>
    readdirSync(join(REPO_ROOT, folder))
      .map((name) => join(folder, name, 'src', 'config.ts'))
      .filter((path) => existsSync(join(REPO_ROOT, path))),
  ),
  // Shared schema fragments spread into app configs.
  'packages/vectors/src/open-store.ts',
  'packages/a2a/src/settings.ts',
  'packages/approvals/src/webhook-settings.ts',
];

function variablesReadByConfigs(): Set<string> {
  const names = new Set<string>();
  for (const file of CONFIG_FILES) {
    for (const match of readFileSync(join(REPO_ROOT, file), 'utf8').matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)) names.add(match[1]!);
  }
  return names;
}

function variablesInReadme(): Set<string> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  return new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((match) => match[1]!));
}

describe('README configuration table', () => {
  const read = variablesReadByConfigs();
  const documented = variablesInReadme();

  it('lists every variable a service reads', () => {
    expect([...read].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it('lists no variable that nothing reads', () => {
    expect([...documented].filter((name) => !read.has(name)).sort()).toEqual([]);
  });
});
