import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

import { type McpToolbox, createMcpToolbox, parseMcpServersConfig } from '@ensemble/mcp';
import { type RunningServer, serveHttp } from '@ensemble/service';
import { createLogger } from '@ensemble/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createMcpToolsApp } from './app.js';
import { UnconfiguredKnowledgeBase } from './tools/knowledge-base.js';
import { inProcessCalculator } from './tools/sandboxed-calculator.js';

// The real mcp-tools server behind the MCP client configuration an agent uses: once in-process over
// Streamable HTTP (with bearer auth), once spawned in stdio mode the way desktop clients launch it, next
// to two servers that are down.
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const logger = createLogger({ service: 'toolbox-test', level: 'silent' });

let http: RunningServer;
let toolbox: McpToolbox;
let closedPort: number;

beforeAll(async () => {
  http = await serveHttp(
    createMcpToolsApp({
      logger,
      calculator: inProcessCalculator,
      knowledgeBase: new UnconfiguredKnowledgeBase(),
      weather: { timeoutMs: 1_000 },
      webSearch: { timeoutMs: 1_000 },
      authTokens: ['toolbox-token'],
      allowedOrigins: [],
    }),
    { host: '127.0.0.1', port: 0, logger, service: 'mcp-tools' },
  );
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const config = parseMcpServersConfig(
    {
      mcpServers: {
        tools: {
          url: 'http://127.0.0.1:${MCP_TOOLS_PORT}/mcp',
          headers: { Authorization: 'Bearer ${MCP_TOKEN}' },
          requireApproval: ['web_search'],
          timeoutMs: 5_000,
        },
        'tools-stdio': {
          command: process.execPath,
          args: ['--import', 'tsx', 'apps/mcp-tools/src/main.ts', '--stdio'],
          cwd: REPO_ROOT,
          env: { LOG_LEVEL: 'info' },
          allowedTools: ['calculator', 'day_of_week'],
        },
        'down-http': { url: 'http://127.0.0.1:${DOWN_PORT}/mcp' },
        'down-stdio': { command: '/nonexistent/mcp-server-binary' },
        'off': { url: 'https://example.invalid/mcp', headers: { Authorization: 'Bearer ${UNSET_SECRET}' }, disabled: true },
      },
    },
    { env: { MCP_TOOLS_PORT: String(http.port), MCP_TOKEN: 'toolbox-token', DOWN_PORT: String(closedPort) } },
  );
  toolbox = await createMcpToolbox(config, { logger, connectTimeoutMs: 20_000 });
}, 60_000);

afterAll(async () => {
  await toolbox?.close();
  await http?.close();
});

describe('McpToolbox against the real mcp-tools server', () => {
  it('connects over HTTP and stdio, and reports down and disabled servers without failing', () => {
    const status = Object.fromEntries(toolbox.status().map((entry) => [entry.name, entry]));
    expect(status['tools']).toMatchObject({ state: 'connected', transport: 'http', toolCount: 10 });
    expect(status['tools-stdio']).toMatchObject({ state: 'connected', transport: 'stdio', toolCount: 2 });
    expect(status['down-http']).toMatchObject({ state: 'down', transport: 'http', toolCount: 0 });
    expect(status['down-http']?.error).toMatch(/fetch failed|ECONNREFUSED/);
    expect(status['down-stdio']).toMatchObject({ state: 'down', transport: 'stdio' });
    expect(status['down-stdio']?.error).toContain('ENOENT');
    expect(status['off']).toMatchObject({ state: 'disabled' });
  });

  it('namespaces only the tools two servers both offer', () => {
    const names = toolbox.tools().map((tool) => tool.name);
    expect(names).toContain('tools__calculator');
    expect(names).toContain('tools-stdio__calculator');
    expect(names).toContain('tools-stdio__day_of_week');
    expect(names).toContain('weather');
    expect(names).not.toContain('calculator');
    expect(toolbox.getTool('tools-stdio__calculator')).toMatchObject({ server: 'tools-stdio', serverToolName: 'calculator' });

    const definitions = toolbox.openAITools();
    const weather = definitions.find((definition) => definition.function.name === 'weather');
    expect(weather).toMatchObject({ type: 'function', function: { parameters: { type: 'object', properties: { location: { type: 'string' } } } } });
    expect(weather?.function.description).toContain('forecast');
    expect(weather?.function.parameters).not.toHaveProperty('$schema');
  });

  it('calls tools on both transports', async () => {
    const overHttp = await toolbox.callTool('tools__calculator', { expression: '2^10' });
    expect(overHttp).toMatchObject({ isError: false, server: 'tools', structuredContent: { value: 1024 } });
    expect(JSON.parse(overHttp.text)).toMatchObject({ result: '1024' });
    const overStdio = await toolbox.callTool('tools-stdio__day_of_week', { date: '2025-12-25' });
    expect(overStdio).toMatchObject({ isError: false, server: 'tools-stdio', structuredContent: { day_of_week: 'Thursday' } });
  });

  it('returns tool errors, unknown tools and unconfigured backends as results the model can read', async () => {
    const bad = await toolbox.callTool('tools__calculator', { expression: '1 +' });
    expect(bad).toMatchObject({ isError: true, errorKind: 'tool_error' });
    expect(bad.text).toContain('Could not parse the expression');
    const unknown = await toolbox.callTool('delete_everything', {});
    expect(unknown).toMatchObject({ isError: true, errorKind: 'unknown_tool' });
    expect(unknown.text).toContain('available tools:');
    const search = await toolbox.callTool('web_search', { query: 'x' });
    expect(search).toMatchObject({ isError: true, errorKind: 'tool_error' });
    expect(search.text).toContain('not configured');
  });

  it('knows which tools need approval', () => {
    expect(toolbox.requiresApproval('web_search')).toBe(true);
    expect(toolbox.requiresApproval('weather')).toBe(false);
    expect(toolbox.tools().find((tool) => tool.name === 'web_search')?.requiresApproval).toBe(true);
  });
});
