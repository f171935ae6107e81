import { randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';

import { EnsembleError, ErrorCode, type McpServersConfig } from '@ensemble/protocol';
import { type RunningServer, serveHttp } from '@ensemble/service';
import { InMemorySpanExporter, createLogger, startTelemetry } from '@ensemble/telemetry';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { freePort } from '../../../test/support/ports.js';

import { type McpToolbox, type McpToolboxOptions, createMcpToolbox } from './toolbox.js';

const logger = createLogger({ service: 'toolbox-test', level: 'silent' });
const spans = new InMemorySpanExporter();
const telemetry = startTelemetry({ serviceName: 'toolbox-test', memoryExporter: spans });

/**
 * A stateful MCP server (sessions, server-to-client SSE stream) so the toolbox's handling of
 * `notifications/tools/list_changed` and `notifications/cancelled` can be observed from the server side.
 */
interface Fixture {
  url: string;
  /** The MCP server of the most recent session. */
  latest(): McpServer;
  /** Emits `sse-open` when a client opened its GET stream, `started`/`aborted` from `wait_for_cancel`. */
  events: EventEmitter;
  close(): Promise<void>;
}

async function startFixture(tools: string[], port = 0): Promise<Fixture> {
  const events = new EventEmitter();
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const servers: McpServer[] = [];
  const build = () => {
    const server = new McpServer({ name: 'fixture', version: '1.0.0' });
    for (const name of tools) {
      server.registerTool(name, { description: `The ${name} tool`, inputSchema: { text: z.string().optional() } }, async ({ text }) => ({
        content: [{ type: 'text', text: `${name}: ${text ?? ''}` }],
      }));
    }
    server.registerTool('fail', { description: 'Always fails' }, async () => ({ content: [{ type: 'text', text: 'disk is full' }], isError: true }));
    server.registerTool('structured', { description: 'Structured only', outputSchema: { answer: z.number() } }, async () => ({
      content: [],
      structuredContent: { answer: 42 },
    }));
    server.registerTool('wait_for_cancel', { description: 'Runs until cancelled' }, async (extra) => {
      events.emit('started');
      if (!extra.signal.aborted) await once(extra.signal, 'abort');
      events.emit('aborted');
      return { content: [{ type: 'text', text: 'cancelled' }] };
    });
    servers.push(server);
    return server;
  };
  const running: RunningServer = await serveHttp(
    {
      fetch: async (request) => {
        const sessionId = request.headers.get('mcp-session-id');
        if (sessionId !== null) {
          const transport = sessions.get(sessionId);
          if (transport === undefined) return new Response('unknown session', { status: 404 });
          const response = await transport.handleRequest(request);
          if (request.method === 'GET') events.emit('sse-open');
          return response;
        }
        const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: randomUUID,
          onsessioninitialized: (id) => void sessions.set(id, transport),
        });
        await build().connect(transport);
        return transport.handleRequest(request);
      },
    },
    { host: '127.0.0.1', port, logger, service: 'fixture' },
  );
  return {
    url: `${running.url}/mcp`,
    latest: () => servers.at(-1)!,
    events,
    close: async () => {
      await Promise.all(servers.map((server) => server.close()));
      await running.close(100);
    },
  };
}

const fixtures: Fixture[] = [];
const toolboxes: McpToolbox[] = [];
const changes = new EventEmitter();

async function toolboxFor(config: McpServersConfig, options: Partial<McpToolboxOptions> = {}): Promise<McpToolbox> {
  const toolbox = await createMcpToolbox(config, { logger, onToolsChanged: (server) => changes.emit('changed', server), ...options });
  toolboxes.push(toolbox);
  return toolbox;
}

let alpha: Fixture;
let beta: Fixture;
beforeAll(async () => {
  alpha = await startFixture(['calculator', 'echo', 'files.read.v2']);
  beta = await startFixture(['calculator', 'delete_file']);
  fixtures.push(alpha, beta);
});
afterEach(async () => {
  await Promise.all(toolboxes.splice(0).map((toolbox) => toolbox.close()));
});
afterAll(async () => {
  await Promise.all(fixtures.map((fixture) => fixture.close()));
  await telemetry.shutdown();
});

describe('McpToolbox', () => {
  it('namespaces colliding tools, sanitizes names and applies approval and allow lists', async () => {
    const toolbox = await toolboxFor({
      mcpServers: {
        alpha: { url: alpha.url, allowedTools: ['calculator', 'echo', 'files.read.v2', 'fail', 'structured'], approvalTimeoutSeconds: { calculator: 120, '*': 60 } },
        beta: { url: beta.url, requireApproval: true, allowedTools: ['calculator', 'delete_file'], approvalTimeoutSeconds: 900 },
      },
    });
    expect(toolbox.tools().map((tool) => tool.name)).toEqual([
      'alpha__calculator',
      'echo',
      'files_read_v2',
      'fail',
      'structured',
      'beta__calculator',
      'delete_file',
    ]);
    expect(toolbox.requiresApproval('delete_file')).toBe(true);
    expect(toolbox.requiresApproval('beta__calculator')).toBe(true);
    expect(toolbox.requiresApproval('alpha__calculator')).toBe(false);
    expect(toolbox.requiresApproval('nope')).toBe(false);
    // Approval deadlines: per tool, the server's "*", or one number for the whole server.
    expect(['alpha__calculator', 'echo', 'beta__calculator', 'delete_file'].map((name) => toolbox.getTool(name)?.approvalTimeoutSeconds)).toEqual([120, 60, 900, 900]);

    const [definition] = toolbox.openAITools();
    expect(definition).toEqual({
      type: 'function',
      function: {
        name: 'alpha__calculator',
        description: 'The calculator tool',
        parameters: expect.objectContaining({ type: 'object', properties: { text: { type: 'string' } } }) as unknown,
      },
    });

    const echoed = await toolbox.callTool('files_read_v2', { text: 'hi' });
    expect(echoed).toMatchObject({ isError: false, server: 'alpha', text: 'files.read.v2: hi' });
    const onBeta = await toolbox.callTool('beta__calculator', { text: '1+1' });
    expect(onBeta).toMatchObject({ isError: false, server: 'beta', text: 'calculator: 1+1' });
  });

  it('returns failures as results: tool errors, structured-only output, unknown tools, bad arguments', async () => {
    const toolbox = await toolboxFor({ mcpServers: { alpha: { url: alpha.url } } });
    expect(await toolbox.callTool('fail', {})).toMatchObject({ isError: true, errorKind: 'tool_error', text: 'disk is full' });
    expect(await toolbox.callTool('structured', {})).toMatchObject({ isError: false, text: '{"answer":42}', structuredContent: { answer: 42 } });
    const unknown = await toolbox.callTool('missing', {});
    expect(unknown).toMatchObject({ isError: true, errorKind: 'unknown_tool' });
    expect(unknown.text).toContain('available tools: calculator, echo');
    const badArgs = await toolbox.callTool('echo', { text: 5 });
    expect(badArgs).toMatchObject({ isError: true });
    expect(badArgs.text).toMatch(/Invalid arguments for tool echo/);
  });

  it('records a TOOL span per call with the OpenInference attributes', async () => {
    const toolbox = await toolboxFor({ mcpServers: { alpha: { url: alpha.url } } });
    spans.reset();
    await toolbox.callTool('echo', { text: 'traced' });
    await toolbox.callTool('fail', {});
    const finished = spans.getFinishedSpans().filter((span) => span.name.startsWith('execute_tool'));
    expect(finished.map((span) => span.name)).toEqual(['execute_tool echo', 'execute_tool fail']);
    expect(finished[0]?.attributes).toMatchObject({
      'openinference.span.kind': 'TOOL',
      'tool.name': 'echo',
      'tool.parameters': '{"text":"traced"}',
      'mcp.server': 'alpha',
      'output.value': 'echo: traced',
    });
    expect(finished[1]?.status.code).toBe(2); // ERROR
  });

  it('turns a timeout into a tool error and cancels the call on the server', async () => {
    const toolbox = await toolboxFor({ mcpServers: { alpha: { url: alpha.url, timeoutMs: 10_000 } } });
    const aborted = once(alpha.events, 'aborted');
    const result = await toolbox.callTool('wait_for_cancel', {}, { timeoutMs: 200 });
    expect(result).toMatchObject({ isError: true, errorKind: 'timeout', server: 'alpha' });
    expect(result.text).toContain('timed out after 200 ms');
    await aborted; // the server saw notifications/cancelled
  });

  it('propagates cancellation to the server and rejects with a cancelled EnsembleError', async () => {
    const toolbox = await toolboxFor({ mcpServers: { alpha: { url: alpha.url } } });
    const controller = new AbortController();
    const started = once(alpha.events, 'started');
    const aborted = once(alpha.events, 'aborted');
    const call = toolbox.callTool('wait_for_cancel', {}, { signal: controller.signal });
    await started;
    controller.abort();
    const error = await call.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(EnsembleError.is(error, ErrorCode.Cancelled)).toBe(true);
    await aborted;
    // An already-aborted signal never reaches the server.
    await expect(toolbox.callTool('echo', {}, { signal: controller.signal })).rejects.toMatchObject({ code: ErrorCode.Cancelled });
  });

  it('refreshes its tool list when a server sends notifications/tools/list_changed', async () => {
    const gamma = await startFixture(['echo']);
    fixtures.push(gamma);
    const sseOpen = once(gamma.events, 'sse-open');
    const toolbox = await toolboxFor({ mcpServers: { gamma: { url: gamma.url } } });
    await sseOpen;
    expect(toolbox.getTool('added_later')).toBeUndefined();

    const changed = once(changes, 'changed');
    const added = gamma.latest().registerTool('added_later', { description: 'New' }, async () => ({ content: [{ type: 'text', text: 'new!' }] }));
    expect(await changed).toEqual(['gamma']);
    expect(toolbox.getTool('added_later')).toMatchObject({ server: 'gamma', description: 'New' });
    expect(await toolbox.callTool('added_later', {})).toMatchObject({ isError: false, text: 'new!' });

    const removed = once(changes, 'changed');
    added.remove();
    await removed;
    expect(toolbox.getTool('added_later')).toBeUndefined();
  });

  it('reports down servers, skips them, and connects them on reconnect()', async () => {
    const port = await freePort();
    const toolbox = await toolboxFor({
      mcpServers: {
        alpha: { url: alpha.url, allowedTools: ['echo'] },
        late: { url: `http://127.0.0.1:${port}/mcp` },
        broken: { command: process.execPath, args: ['-e', 'process.stderr.write("cannot start: missing API key\\n"); process.exit(3)'] },
      },
    });
    const status = toolbox.status();
    expect(status.map((entry) => [entry.name, entry.state])).toEqual([
      ['alpha', 'connected'],
      ['late', 'down'],
      ['broken', 'down'],
    ]);
    expect(status[2]?.error).toContain('cannot start: missing API key');
    expect(toolbox.tools().map((tool) => tool.name)).toEqual(['echo']);

    const late = await startFixture(['late_tool'], port);
    fixtures.push(late);
    const after = await toolbox.reconnect();
    expect(after.find((entry) => entry.name === 'late')).toMatchObject({ state: 'connected', toolCount: 4 });
    expect(await toolbox.callTool('late_tool', { text: 'x' })).toMatchObject({ isError: false, server: 'late' });

    // A server that disappears after connecting: the call comes back as a result, not a throw.
    await late.close();
    const gone = await toolbox.callTool('late_tool', { text: 'x' });
    expect(gone).toMatchObject({ isError: true, errorKind: 'server_unavailable', server: 'late' });
    expect(gone.text).toContain('could not be reached on MCP server "late"');
  });

  it('restricts itself to the servers an agent may use and rejects unknown names', async () => {
    const config: McpServersConfig = { mcpServers: { alpha: { url: alpha.url }, beta: { url: beta.url } } };
    const toolbox = await toolboxFor(config, { servers: ['beta'] });
    expect(toolbox.status().map((entry) => entry.name)).toEqual(['beta']);
    expect(toolbox.getTool('echo')).toBeUndefined();
    await expect(createMcpToolbox(config, { logger, servers: ['gamma'] })).rejects.toThrow('Unknown MCP server "gamma"; configured: alpha, beta');
  });

  it('closes idempotently and answers calls after close with a tool error', async () => {
    const toolbox = await toolboxFor({ mcpServers: { alpha: { url: alpha.url }, off: { url: alpha.url, disabled: true } } });
    await toolbox.close();
    await toolbox.close();
    expect(toolbox.status().map((entry) => entry.state)).toEqual(['closed', 'disabled']);
    expect(await toolbox.callTool('echo', {})).toMatchObject({ isError: true, errorKind: 'unknown_tool' });
  });
});
