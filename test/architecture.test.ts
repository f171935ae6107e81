import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { REPO_ROOT } from './support/processes.js';

/**
 * The architecture as tests (docs/architecture.md): dependencies point apps -> packages, `protocol` is
 * the leaf, packages never read the environment or start processes, barrels are explicit.
 */
interface Workspace {
  dir: string;
  name: string;
  kind: 'app' | 'package' | 'tool';
  dependencies: string[];
}

function workspaces(): Workspace[] {
  const result: Workspace[] = [];
  for (const [folder, kind] of [['apps', 'app'], ['packages', 'package'], ['tools', 'tool']] as const) {
    for (const entry of readdirSync(join(REPO_ROOT, folder))) {
      const manifestPath = join(REPO_ROOT, folder, entry, 'package.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name: string; dependencies?: Record<string, string> };
      result.push({ dir: join(folder, entry), name: manifest.name, kind, dependencies: Object.keys(manifest.dependencies ?? {}) });
    }
  }
  return result;
}

function sourceFiles(dir: string): string[] {
  const root = join(REPO_ROOT, dir, 'src');
  const files: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current)) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) files.push(path);
    }
  };
  walk(root);
  return files;
}

const all = workspaces();
const byName = new Map(all.map((workspace) => [workspace.name, workspace]));

describe('architecture', () => {
  it('packages never depend on apps or tools', () => {
    for (const workspace of all.filter((candidate) => candidate.kind === 'package')) {
      const wrong = workspace.dependencies.filter((dependency) => {
        const target = byName.get(dependency);
        return target !== undefined && target.kind !== 'package';
      });
      expect(wrong, `${workspace.name} depends on ${wrong.join(', ')}`).toEqual([]);
    }
  });

  it('protocol is the leaf: it depends on no other workspace', () => {
    const protocol = byName.get('@ensemble/protocol');
    expect(protocol?.dependencies.filter((dependency) => byName.has(dependency))).toEqual([]);
  });

  it('workspace dependencies form no cycle', () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      if (done.has(name)) return;
      expect(visiting.has(name), `cycle: ${[...path, name].join(' -> ')}`).toBe(false);
      visiting.add(name);
      for (const dependency of byName.get(name)?.dependencies ?? []) if (byName.has(dependency)) visit(dependency, [...path, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const workspace of all) visit(workspace.name, []);
  });

  it('packages never read process.env and never spawn processes', () => {
    for (const workspace of all.filter((candidate) => candidate.kind === 'package')) {
      for (const file of sourceFiles(workspace.dir)) {
        const text = readFileSync(file, 'utf8');
        expect(text.includes('process.env'), `${relative(REPO_ROOT, file)} reads process.env`).toBe(false);
        expect(/from 'node:child_process'/.test(text), `${relative(REPO_ROOT, file)} starts processes`).toBe(false);
      }
    }
  });

  it('every package has one explicit barrel: no `export *`', () => {
    for (const workspace of all.filter((candidate) => candidate.kind === 'package')) {
      for (const file of sourceFiles(workspace.dir)) {
        expect(/^export \* /m.test(readFileSync(file, 'utf8')), `${relative(REPO_ROOT, file)} uses export *`).toBe(false);
      }
    }
  });

  it('workspace imports are declared dependencies', () => {
    for (const workspace of all) {
      for (const file of sourceFiles(workspace.dir)) {
        const imported = [...readFileSync(file, 'utf8').matchAll(/from '(@ensemble\/[\w-]+)/g)].map((match) => match[1]);
        for (const name of imported) {
          if (name === workspace.name) continue;
          expect(workspace.dependencies, `${relative(REPO_ROOT, file)} imports ${name}`).toContain(name);
        }
      }
    }
  });

  it("the workflow event log (`@ensemble/workflow`, `/redis`) loads none of the runtime's A2A and LLM dependencies", () => {
    const heavy = ['@a2a-js/sdk', '@ensemble/a2a', '@ensemble/approvals', '@ensemble/dag', '@ensemble/llm', '@ensemble/openai-a2a', '@ensemble/sessions'];
    for (const entry of ['src/index.ts', 'src/redis/index.ts']) {
      const loaded = importedModules(join(REPO_ROOT, 'packages/workflow', entry));
      const wrong = [...loaded].filter((name) => heavy.some((module) => name === module || name.startsWith(`${module}/`)));
      expect(wrong, `packages/workflow/${entry} loads ${wrong.join(', ')}`).toEqual([]);
    }
  });
});

/** Every non-relative module a file loads, following its relative imports (type-only imports excluded). */
function importedModules(file: string, seen = new Set<string>(), modules = new Set<string>()): Set<string> {
  if (seen.has(file)) return modules;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/^(?:import|export)(?! type )[^;]*?from '([^']+)'/gms)) {
    const specifier = match[1] ?? '';
    if (specifier.startsWith('.')) importedModules(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')), seen, modules);
    else modules.add(specifier);
  }
  return modules;
}
