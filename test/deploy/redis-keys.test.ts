import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../support/processes.js';

/**
 * docs/deployment.md says what Redis must be in production, from the keys the code writes and which of
 * them change together. This keeps that list true: every key (and channel) name the services build after
 * `REDIS_KEY_PREFIX` is documented there, and nothing is documented that the code no longer builds.
 */

/** `${this.prefix}session:${id}:nodes` -> `session:<>:nodes`; `${…}` parts become `<>`. */
function codeKeys(): Map<string, string> {
  const keys = new Map<string, string>();
  const files = globSync(['packages/*/src/**/*.ts', 'apps/*/src/**/*.ts'], { cwd: REPO_ROOT, ignore: ['**/*.test.ts', '**/*.conformance.ts', '**/testing/**', 'apps/console/**'] });
  for (const file of files) {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8');
    for (const [, rest] of text.matchAll(/`\$\{[\w.#]*[pP]refix\}([a-z][^`]*)`/g)) keys.set(rest!.replace(/\$\{[^}]*\}/g, '<>'), file);
  }
  return keys;
}

/** The first column of the key table in the section on Redis in production, `<…>` parts as `<>`. */
function documentedKeys(): Set<string> {
  const doc = readFileSync(join(REPO_ROOT, 'docs/deployment.md'), 'utf8');
  const start = doc.indexOf('### What Redis must be in production');
  expect(start).toBeGreaterThan(-1);
  const rows = [...doc.slice(start, doc.indexOf('\n## ', start)).matchAll(/^\| ([^|]*) \|/gm)].map((match) => match[1]!);
  return new Set(rows.flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!.replace(/<[^>]*>/g, '<>'))));
}

describe("docs/deployment.md's Redis keys", () => {
  it('finds the key builders it checks (the pattern still matches the code)', () => {
    const keys = codeKeys();
    expect(keys.size).toBeGreaterThan(15);
    expect([...keys.keys()]).toEqual(expect.arrayContaining(['session:<>:lock', 'replicas:<>', 'approvals:wake', 'events:{<>}']));
  });

  it('lists every key the code builds', () => {
    const documented = documentedKeys();
    // A prefix handed to a Lua script (which appends the id itself) is covered by the key it starts.
    const missing = [...codeKeys()].filter(([key]) => (key.endsWith('{') ? ![...documented].some((doc) => doc.startsWith(key)) : !documented.has(key)));
    expect(missing.map(([key, file]) => `${key} (${file})`)).toEqual([]);
  });

  it('lists no key the code does not build', () => {
    const built = new Set(codeKeys().keys());
    // The push store's order counter is its hash's key plus `:order`.
    const extra = [...documentedKeys()].filter((key) => !built.has(key) && !(key.endsWith(':order') && built.has(key.slice(0, -':order'.length))));
    expect(extra).toEqual([]);
  });
});
