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

/** Redis Cluster's hash slot of a key: CRC16 (XMODEM) of the key, or of its first non-empty `{hash tag}`, mod 16384. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}

const builtKeys = codeKeys();

/** A key the code builds (`<>` filled in with `id`), under the default prefix. */
function key(template: string, id: string): string {
  if (!builtKeys.has(template)) throw new Error(`the code builds no key ${template}`);
  return `ensemble:${template.replaceAll('<>', id)}`;
}

describe("docs/deployment.md's Redis keys", () => {
  it('computes hash slots as Redis does (the examples of the Cluster specification)', () => {
    expect(keySlot('123456789')).toBe(0x31c3 % 16_384);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });

  it("holds the section's claims about hash slots: one slot per session's event log, none for what the session and approval scripts touch together", () => {
    const ids = ['0b5c1d8e-1f43-4c8e-9a41-6f1f6f3b2a10', 'a3e4f0c2-7d5b-4f7e-8a1c-2b9d0e6f4c31', 'f7c9e2a1-3b4d-4e6f-9a8b-1c2d3e4f5a6b'];
    for (const id of ids) {
      expect(keySlot(key('events:{<>}', id))).toBe(keySlot(key('events:{<>}:meta', id)));
      const sessionScript = [key('session:<>', id), key('session:<>:nodes', id), key('sessions:owner:<>', 'alice'), key('sessions:active', id)];
      expect(new Set(sessionScript.map(keySlot)).size, id).toBeGreaterThan(1);
      const decision = [key('approval:{<>}', id), key('approvals:due', id), key('approvals:wake', id)];
      expect(new Set(decision.map(keySlot)).size, id).toBeGreaterThan(1);
    }
  });

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
