import { readFile } from 'node:fs/promises';

import {
  EnsembleError,
  ErrorCode,
  McpHttpServerConfig,
  McpServerName,
  McpStdioServerConfig,
  type McpServerConfig,
  type McpServersConfig,
} from '@ensemble/protocol';
import type { z } from 'zod';

/** Variables available to `${VAR}` expansion; an app passes its environment, tests pass a literal. */
export type McpConfigEnv = Readonly<Record<string, string | undefined>>;

export interface ParseMcpConfigOptions {
  env: McpConfigEnv;
  /** Where the config came from (a file path), named in error messages. */
  source?: string;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Expands `${VAR}` and `${VAR:-default}` in one string, with shell semantics: `${VAR}` needs VAR to be
 * set (an empty value is allowed), `${VAR:-default}` uses the default when VAR is unset or empty.
 * Returns the names of referenced variables that are unset and have no default.
 */
export function expandVariables(value: string, env: McpConfigEnv): { value: string; missing: string[] } {
  const missing: string[] = [];
  const expanded = value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
    const current = env[name];
    if (fallback !== undefined) return current === undefined || current === '' ? fallback : current;
    if (current === undefined) {
      missing.push(name);
      return '';
    }
    return current;
  });
  return { value: expanded, missing };
}

/**
 * Validates an MCP client configuration (`{"mcpServers": {...}}`) after expanding `${VAR}` in every
 * string value (never in keys). Throws one `invalid_request` EnsembleError listing every problem, each
 * named by its path (`mcpServers.github.headers.Authorization: ...`). Disabled servers are still checked
 * for shape, but unset variables in them are not an error: disabling a server whose secret is absent is
 * the normal way to turn it off.
 */
export function parseMcpServersConfig(raw: unknown, options: ParseMcpConfigOptions): McpServersConfig {
  const problems: string[] = [];
  const servers: Record<string, McpServerConfig> = {};
  const root = isRecord(raw) ? raw['mcpServers'] : undefined;
  if (!isRecord(root)) {
    problems.push('mcpServers: expected an object mapping server names to server entries');
  } else {
    for (const [name, entry] of Object.entries(root)) {
      const where = `mcpServers.${name}`;
      const nameCheck = McpServerName.safeParse(name);
      if (!nameCheck.success) problems.push(`${where}: invalid server name: ${nameCheck.error.issues[0]?.message ?? 'invalid'}`);
      if (!isRecord(entry)) {
        problems.push(`${where}: expected an object with "url" (Streamable HTTP) or "command" (stdio)`);
        continue;
      }
      const lenient = entry['disabled'] === true;
      const expanded = expandDeep(entry, options.env, where, lenient ? [] : problems);
      const parsed = parseServerEntry(expanded as Record<string, unknown>, where, problems);
      if (parsed !== undefined && nameCheck.success) servers[name] = parsed;
    }
  }
  if (problems.length > 0) {
    const source = options.source === undefined ? '' : ` in ${options.source}`;
    throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid MCP server configuration${source}:\n  ${problems.join('\n  ')}`, {
      details: { problems },
      wireCode: 'invalid_mcp_config',
    });
  }
  return { mcpServers: servers };
}

/** Reads a JSON config file and validates it with `parseMcpServersConfig`. */
export async function loadMcpServersConfig(path: string, options: { env: McpConfigEnv }): Promise<McpServersConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `Cannot read MCP server configuration ${path}: ${(error as Error).message}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `MCP server configuration ${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
      wireCode: 'invalid_mcp_config',
    });
  }
  return parseMcpServersConfig(raw, { env: options.env, source: path });
}

/** Which transport a validated entry uses. */
export function isHttpServerConfig(config: McpServerConfig): config is McpHttpServerConfig {
  return 'url' in config;
}

function parseServerEntry(entry: Record<string, unknown>, where: string, problems: string[]): McpServerConfig | undefined {
  const hasUrl = 'url' in entry;
  const hasCommand = 'command' in entry;
  if (entry['type'] === 'sse') {
    problems.push(`${where}.type: "sse" (the legacy HTTP+SSE transport) is not supported; use Streamable HTTP ("type": "http")`);
    return undefined;
  }
  if (hasUrl && hasCommand) {
    problems.push(`${where}: has both "url" and "command"; a server is either Streamable HTTP (url) or stdio (command)`);
    return undefined;
  }
  if (!hasUrl && !hasCommand) {
    problems.push(`${where}: needs "url" (Streamable HTTP) or "command" (stdio)`);
    return undefined;
  }
  const schema: z.ZodType<McpServerConfig> = hasUrl ? McpHttpServerConfig : McpStdioServerConfig;
  const result = schema.safeParse(entry);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const path = issue.path.map(String).join('.');
    problems.push(`${where}${path === '' ? '' : `.${path}`}: ${issue.message}`);
  }
  return undefined;
}

function expandDeep(value: unknown, env: McpConfigEnv, where: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    const { value: expanded, missing } = expandVariables(value, env);
    for (const name of missing) problems.push(`${where}: environment variable ${name} is not set (use \${${name}:-default} for a fallback)`);
    return expanded;
  }
  if (Array.isArray(value)) return value.map((item, index) => expandDeep(item, env, `${where}.${index}`, problems));
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandDeep(item, env, `${where}.${key}`, problems)]));
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
