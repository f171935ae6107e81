import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { afterAll, describe, expect, it } from 'vitest';

import { REPO_ROOT, startService, stopAllServices } from '../../../test/support/processes.js';

afterAll(stopAllServices);

describe('mcp-tools main', () => {
  it('serves /health and /mcp over HTTP and logs its listening line', async () => {
    const service = await startService({ name: 'mcp-tools', entry: 'apps/mcp-tools/src/main.ts', env: { MCP_TOOLS_PORT: '0', MCP_AUTH_TOKENS: 'main-token' } });
    expect(await (await fetch(`${service.url}/health`)).json()).toEqual({ status: 'ok', service: 'mcp-tools' });
    const unauthorized = await fetch(`${service.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unauthorized.status).toBe(401);
    await service.stop();
    expect(service.child.exitCode).toBe(0);
  });

  it('speaks MCP on stdout in --stdio mode, logs only to stderr, and exits when stdin closes', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/mcp-tools/src/main.ts', '--stdio'], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    try {
      const stdout = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const stderrLines: string[] = [];
      createInterface({ input: child.stderr }).on('line', (line) => stderrLines.push(line));
      const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
      send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      const initialized = JSON.parse((await stdout.next()).value as string) as Record<string, unknown>;
      expect(initialized).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'ensemble-tools' } } });
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'convert_units', arguments: { value: 1, from: 'mi', to: 'km' } } });
      const called = JSON.parse((await stdout.next()).value as string) as Record<string, unknown>;
      expect(called).toMatchObject({ id: 2, result: { structuredContent: { result: 1.609344 } } });

      child.stdin.end();
      await exited;
      expect(child.exitCode).toBe(0);
      // Every stdout line was protocol (read above); the logs went to stderr.
      expect(stderrLines.some((line) => line.includes('"msg":"MCP server ready on stdio"'))).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });

  it('refuses to start with a half-configured web search provider', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/mcp-tools/src/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, MCP_TOOLS_PORT: '0', WEB_SEARCH_PROVIDER: 'brave', WEB_SEARCH_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => output.push(line));
    await once(child, 'exit');
    expect(child.exitCode).toBe(1);
    expect(output.join('\n')).toContain('WEB_SEARCH_API_KEY: required when WEB_SEARCH_PROVIDER=brave');
  });
});
