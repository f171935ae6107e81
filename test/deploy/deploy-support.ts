import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { IMAGE_SERVICES, type ImageService } from '../../tools/image/src/services.js';
import { REPO_ROOT } from '../support/processes.js';

/**
 * What the deployment tests check files against, read at test time so they follow the code: the README's
 * configuration table (variable -> which services read it), the image's service table, the Dockerfile's
 * stages, and the variables the image's MCP configuration expands.
 */

export interface ConfigVariable {
  name: string;
  /** The table's "read by" cell, split: `gateway`, `agents`, `RAG agent`, `all`, ... */
  readBy: string[];
}

export function readmeConfiguration(): Map<string, ConfigVariable> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const variables = new Map<string, ConfigVariable>();
  for (const match of readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|[^|]*\|([^|]*)\|/gm)) {
    variables.set(match[1]!, { name: match[1]!, readBy: match[2]!.split(',').map((part) => part.trim()).filter((part) => part !== '') });
  }
  return variables;
}

/** How the README's "read by" column names each image service (`agents` covers every A2A agent). */
const README_NAMES: Record<string, string[]> = {
  gateway: ['gateway'],
  orchestrator: ['orchestrator', 'agents'],
  'planning-agent': ['planning agent', 'agents'],
  'reasoning-agent': ['reasoning agent', 'agents'],
  'rag-agent': ['RAG agent', 'agents'],
  'mcp-tools': ['MCP tools'],
  'mock-agent': ['mock agents', 'agents'],
  'sim-llm': ['sim-llm'],
  'embedded-postgres': ['embedded Postgres'],
  cli: ['CLI'],
};

/** Whether the README says `service` reads `variable`. */
export function readsVariable(variable: ConfigVariable, service: string): boolean {
  const names = README_NAMES[service];
  if (names === undefined) throw new Error(`no README name for ${service}`);
  return variable.readBy.some((reader) => reader === 'all' || names.includes(reader));
}

/**
 * Settings an operator changes per deployment without editing the manifests: in compose each comes from
 * `.env` (`${NAME...}`), in Kubernetes from the ConfigMap or the Secret, for every service the README's
 * configuration table says reads it.
 */
export const OPERATOR_SETTINGS: readonly string[] = [
  'REDIS_KEY_PREFIX',
  'EMBEDDING_MODEL',
  'ORCHESTRATION_REASONING_FIELD',
  'APPROVAL_TIMEOUT_SECONDS',
  'APPROVAL_TIMEOUT_ACTION',
  'APPROVAL_WEBHOOK_URLS',
  'APPROVAL_WEBHOOK_SECRET',
];

/** Variables the image's MCP configuration (`deploy/docker/mcp-servers.json`) expands in the reasoning agent. */
export function mcpConfigVariables(): Set<string> {
  const text = readFileSync(join(REPO_ROOT, 'deploy/docker/mcp-servers.json'), 'utf8');
  return new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]!));
}

export function imageService(name: string): ImageService {
  const service = IMAGE_SERVICES.find((candidate) => candidate.name === name);
  if (service === undefined) throw new Error(`${name} is not a service of the image`);
  return service;
}

/** `FROM ... AS <stage>` names of the Dockerfile. */
export function dockerfileStages(): Set<string> {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  return new Set([...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((match) => match[1]!));
}

/** The Dockerfile's `runtime` stage: what the image runs with. */
export function runtimeStage(): string {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  return dockerfile.slice(dockerfile.search(/^FROM .* AS runtime$/m));
}

/** The runtime stage's `USER uid:gid` (numeric, so Kubernetes' `runAsNonRoot` can check it). */
export function imageUser(): { uid: number; gid: number } {
  const match = /^USER (\d+):(\d+)$/m.exec(runtimeStage());
  if (match === null) throw new Error('the runtime stage sets no numeric USER uid:gid');
  return { uid: Number(match[1]), gid: Number(match[2]) };
}

/** The variables the runtime stage's `ENV` instructions set (continued lines joined), in order. */
export function dockerfileRuntimeEnv(): Map<string, string> {
  const joined = runtimeStage().replace(/\\\n/g, ' ');
  const env = new Map<string, string>();
  for (const [, assignments] of joined.matchAll(/^ENV\s+(.*)$/gm)) {
    for (const assignment of assignments!.trim().split(/\s+/)) {
      const equals = assignment.indexOf('=');
      if (equals <= 0) throw new Error(`ENV ${assignment}: only the KEY=value form is understood here`);
      env.set(assignment.slice(0, equals), assignment.slice(equals + 1));
    }
  }
  return env;
}

/** Docker's image reference grammar (name[:tag][@digest]), lower-case repository path components. */
export const IMAGE_REFERENCE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** `http://name:port`, `redis://name:port`, `postgres://user:pass@name:port/db` found in a text. */
export function serviceUrls(text: string): { host: string; port: number }[] {
  return [...text.matchAll(/\b(?:https?|redis|postgres):\/\/(?:[^@/\s]*@)?([a-z][a-z0-9-]*):(\d+)/g)].map((match) => ({ host: match[1]!, port: Number(match[2]) }));
}
