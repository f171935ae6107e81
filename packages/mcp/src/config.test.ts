import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { expandVariables, loadMcpServersConfig, parseMcpServersConfig } from './config.js';

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnsembleError);
    expect((error as EnsembleError).code).toBe(ErrorCode.InvalidRequest);
    return (error as EnsembleError).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('expandVariables', () => {
  it('expands ${VAR} and ${VAR:-default} with shell semantics', () => {
    const env = { HOST: 'tools.local', EMPTY: '' };
    expect(expandVariables('http://${HOST}:${PORT:-8010}/mcp', env)).toEqual({ value: 'http://tools.local:8010/mcp', missing: [] });
    expect(expandVariables('${EMPTY:-fallback}|${EMPTY}', env)).toEqual({ value: 'fallback|', missing: [] });
    expect(expandVariables('Bearer ${TOKEN}', env)).toEqual({ value: 'Bearer ', missing: ['TOKEN'] });
    expect(expandVariables('$HOME and ${not valid}', env).value).toBe('$HOME and ${not valid}');
  });
});

describe('parseMcpServersConfig', () => {
  it('accepts HTTP and stdio servers with Ensemble extensions, expanding every string value', () => {
    const config = parseMcpServersConfig(
      {
        mcpServers: {
          tools: {
            type: 'http',
            url: 'http://127.0.0.1:${MCP_TOOLS_PORT:-8010}/mcp',
            headers: { Authorization: 'Bearer ${TOKEN}' },
            requireApproval: ['web_search'],
            timeoutMs: 5000,
          },
          files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '${ROOT}'], env: { DEBUG: '${DEBUG:-0}' }, requireApproval: true },
        },
      },
      { env: { TOKEN: 't0k', ROOT: '/srv/data' } },
    );
    expect(config.mcpServers).toEqual({
      tools: { type: 'http', url: 'http://127.0.0.1:8010/mcp', headers: { Authorization: 'Bearer t0k' }, requireApproval: ['web_search'], timeoutMs: 5000 },
      files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv/data'], env: { DEBUG: '0' }, requireApproval: true },
    });
  });

  it('names the server and field of every problem in one error', () => {
    const message = problemsOf(() =>
      parseMcpServersConfig(
        {
          mcpServers: {
            github: { url: 'https://api.example/mcp', headers: { Authorization: 'Bearer ${GITHUB_TOKEN}' } },
            typo: { url: 'http://x/mcp', requiresApproval: ['delete'] },
            both: { url: 'http://x/mcp', command: 'x' },
            neither: { args: ['x'] },
            badUrl: { url: 'ftp://files.example' },
            legacy: { type: 'sse', url: 'http://x/sse' },
            slow: { command: 'x', timeoutMs: -1 },
            'bad name!': { command: 'x' },
          },
        },
        { env: {}, source: 'config/mcp-servers.json' },
      ),
    );
    expect(message).toContain('in config/mcp-servers.json');
    expect(message).toContain('mcpServers.github.headers.Authorization: environment variable GITHUB_TOKEN is not set');
    expect(message).toMatch(/mcpServers\.typo: Unrecognized key.*requiresApproval/);
    expect(message).toContain('mcpServers.both: has both "url" and "command"');
    expect(message).toContain('mcpServers.neither: needs "url" (Streamable HTTP) or "command" (stdio)');
    expect(message).toContain('mcpServers.badUrl.url: expected an http(s) URL');
    expect(message).toContain('mcpServers.legacy.type: "sse"');
    expect(message).toMatch(/mcpServers\.slow\.timeoutMs: /);
    expect(message).toContain('mcpServers.bad name!: invalid server name');
  });

  it('does not require the secrets of a disabled server', () => {
    const config = parseMcpServersConfig(
      { mcpServers: { off: { url: 'https://api.example/mcp', headers: { Authorization: 'Bearer ${UNSET}' }, disabled: true } } },
      { env: {} },
    );
    expect(config.mcpServers['off']).toMatchObject({ disabled: true, headers: { Authorization: 'Bearer ' } });
  });

  it('rejects a document without an mcpServers object', () => {
    expect(problemsOf(() => parseMcpServersConfig({ servers: {} }, { env: {} }))).toContain('mcpServers: expected an object');
    expect(problemsOf(() => parseMcpServersConfig([], { env: {} }))).toContain('mcpServers: expected an object');
  });
});

describe('loadMcpServersConfig', () => {
  it('reads a file, and reports unreadable files and bad JSON with the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-config-'));
    try {
      const good = join(dir, 'good.json');
      await writeFile(good, JSON.stringify({ mcpServers: { tools: { url: 'http://127.0.0.1:${PORT:-8010}/mcp' } } }));
      expect(await loadMcpServersConfig(good, { env: { PORT: '9999' } })).toEqual({ mcpServers: { tools: { url: 'http://127.0.0.1:9999/mcp' } } });
      const bad = join(dir, 'bad.json');
      await writeFile(bad, '{"mcpServers": {');
      await expect(loadMcpServersConfig(bad, { env: {} })).rejects.toThrow(`MCP server configuration ${bad} is not valid JSON`);
      await expect(loadMcpServersConfig(join(dir, 'missing.json'), { env: {} })).rejects.toThrow('Cannot read MCP server configuration');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('parses the example config shipped in config/mcp-servers.json', async () => {
    const path = new URL('../../../config/mcp-servers.json', import.meta.url);
    const config = await loadMcpServersConfig(path.pathname, { env: {} });
    expect(config.mcpServers['ensemble-tools']).toMatchObject({ url: 'http://127.0.0.1:8010/mcp', requireApproval: ['web_search'] });
    expect(config.mcpServers['filesystem']).toMatchObject({ command: 'npx', disabled: true });
  });
});
