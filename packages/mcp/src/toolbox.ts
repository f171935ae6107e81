import { EnsembleError, ErrorCode, type McpServerConfig, type McpServersConfig } from '@ensemble/protocol';
import { type Logger, SpanKind, SpanStatusCode, inSpan, toolSpanAttributes } from '@ensemble/telemetry';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type CallToolResult, type ContentBlock, ErrorCode as McpErrorCode, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';

import { isHttpServerConfig } from './config.js';
import { assignToolNames } from './tool-names.js';

/** A tool as the agent sees it: a unique callable name, and where it really lives. */
export interface ToolboxTool {
  /** Unique across the toolbox; what the model calls (namespaced `<server>__<tool>` only on collision). */
  name: string;
  server: string;
  /** The tool's name on its own server. */
  serverToolName: string;
  title?: string;
  description?: string;
  /** JSON Schema of the arguments, as the server published it. */
  inputSchema: Tool['inputSchema'];
  outputSchema?: Tool['outputSchema'];
  annotations?: Tool['annotations'];
  requiresApproval: boolean;
  /** The approval deadline the config sets for this tool (`approvalTimeoutSeconds`), if any. */
  approvalTimeoutSeconds?: number;
}

/**
 * An OpenAI function-tool definition. Structurally what the `openai` SDK's `ChatCompletionTool` expects,
 * declared here so this package does not need the SDK.
 */
export interface OpenAIFunctionTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export type McpServerState = 'connected' | 'down' | 'disabled' | 'closed';

export interface McpServerStatus {
  name: string;
  transport: 'http' | 'stdio';
  state: McpServerState;
  toolCount: number;
  /** Why the server is down, or the last failed call's reason while it is connected. */
  error?: string;
  /** When `state` last changed (ISO 8601). */
  since: string;
}

export type ToolErrorKind = 'tool_error' | 'timeout' | 'unknown_tool' | 'server_unavailable' | 'protocol_error';

/** The outcome of one call, always renderable to the model (`text`), never a throw for tool failures. */
export interface ToolCallResult {
  /** The toolbox name the call was made with. */
  tool: string;
  server?: string;
  isError: boolean;
  /** Set when `isError`: what kind of failure, for UIs and retry decisions. */
  errorKind?: ToolErrorKind;
  /** Text for the model: the text content joined, or the structured content as JSON. */
  text: string;
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  durationMs: number;
}

export interface ToolCallOptions {
  /** Aborting cancels the call on the server (MCP `notifications/cancelled`) and rejects with `cancelled`. */
  signal?: AbortSignal;
  /** Overrides the server's `timeoutMs` and the toolbox default. */
  timeoutMs?: number;
}

export interface McpToolboxOptions {
  logger: Logger;
  /** The servers this agent may use (names from the config); every enabled server when omitted. */
  servers?: readonly string[];
  clientInfo?: { name: string; version: string };
  /** Budget for connecting and listing tools, per server. Default 10 s. */
  connectTimeoutMs?: number;
  /** Call timeout when neither the call nor the server config sets one. Default 60 s. */
  defaultTimeoutMs?: number;
  /** Called after a server's tool list was re-read because it sent `notifications/tools/list_changed`. */
  onToolsChanged?: (server: string) => void;
}

/**
 * The tools of every configured MCP server behind one interface. Servers that cannot be reached are
 * reported in `status()` and skipped; nothing here is fatal to the agent using it.
 */
export interface McpToolbox {
  /** Every tool of every connected server, with unique names. */
  tools(): ToolboxTool[];
  /** The same tools as OpenAI function-tool definitions (for `chat.completions.create({ tools })`). */
  openAITools(): OpenAIFunctionTool[];
  /** Undefined for an unknown name. */
  getTool(name: string): ToolboxTool | undefined;
  /** Whether the config marks this tool (by toolbox name) as needing human approval before it runs. */
  requiresApproval(name: string): boolean;
  /**
   * Calls a tool. Tool errors, timeouts, unknown tools and unreachable servers come back as a result with
   * `isError: true` and a message the model can act on. Only cancellation through `signal` rejects, with
   * an `EnsembleError` of code `cancelled`, because the caller asked to stop.
   */
  callTool(name: string, args: Record<string, unknown>, options?: ToolCallOptions): Promise<ToolCallResult>;
  /** One entry per configured server (including disabled and down ones), in config order. */
  status(): McpServerStatus[];
  /** Tries to connect every `down` server again; returns the new status. */
  reconnect(): Promise<McpServerStatus[]>;
  /** Disconnects every server (stdio servers are stopped). Idempotent. */
  close(): Promise<void>;
}

interface ServerEntry {
  name: string;
  config: McpServerConfig;
  transport: 'http' | 'stdio';
  state: McpServerState;
  since: string;
  error?: string;
  client?: Client;
  /** The server's tools after `allowedTools`, in listing order. */
  tools: Tool[];
  stderrTail: string[];
}

const STDERR_TAIL_LINES = 20;
const CLIENT_INFO = { name: 'ensemble', version: '0.1.0' };

/** Connects to every configured server (in parallel) and lists their tools once. Never rejects for a down server. */
export async function createMcpToolbox(config: McpServersConfig, options: McpToolboxOptions): Promise<McpToolbox> {
  const toolbox = new DefaultMcpToolbox(config, options);
  await toolbox.start();
  return toolbox;
}

class DefaultMcpToolbox implements McpToolbox {
  private readonly entries: ServerEntry[];
  private readonly logger: Logger;
  private readonly connectTimeoutMs: number;
  private readonly defaultTimeoutMs: number;
  private index = new Map<string, ToolboxTool>();
  private closed = false;

  constructor(
    config: McpServersConfig,
    private readonly options: McpToolboxOptions,
  ) {
    this.logger = options.logger;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    const configured = Object.keys(config.mcpServers);
    const unknown = (options.servers ?? []).filter((name) => !configured.includes(name));
    if (unknown.length > 0) {
      throw new EnsembleError(
        ErrorCode.InvalidRequest,
        `Unknown MCP server${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')}; configured: ${configured.join(', ') || '(none)'}`,
      );
    }
    const selected = options.servers === undefined ? configured : configured.filter((name) => options.servers?.includes(name));
    this.entries = selected.map((name) => {
      const serverConfig = config.mcpServers[name]!;
      return {
        name,
        config: serverConfig,
        transport: isHttpServerConfig(serverConfig) ? 'http' : 'stdio',
        state: serverConfig.disabled === true ? 'disabled' : 'down',
        since: new Date().toISOString(),
        tools: [],
        stderrTail: [],
        ...(serverConfig.disabled === true ? {} : { error: 'not connected yet' }),
      };
    });
  }

  async start(): Promise<void> {
    await Promise.all(this.entries.filter((entry) => entry.state === 'down').map((entry) => this.connect(entry)));
    this.rebuildIndex();
  }

  tools(): ToolboxTool[] {
    return [...this.index.values()];
  }

  openAITools(): OpenAIFunctionTool[] {
    return this.tools().map((tool) => {
      const description = tool.description ?? tool.title;
      return {
        type: 'function',
        function: { name: tool.name, ...(description === undefined ? {} : { description }), parameters: toFunctionParameters(tool.inputSchema) },
      };
    });
  }

  getTool(name: string): ToolboxTool | undefined {
    return this.index.get(name);
  }

  requiresApproval(name: string): boolean {
    return this.index.get(name)?.requiresApproval ?? false;
  }

  status(): McpServerStatus[] {
    return this.entries.map((entry) => ({
      name: entry.name,
      transport: entry.transport,
      state: entry.state,
      toolCount: entry.state === 'connected' ? entry.tools.length : 0,
      since: entry.since,
      ...(entry.error === undefined ? {} : { error: entry.error }),
    }));
  }

  async reconnect(): Promise<McpServerStatus[]> {
    if (!this.closed) {
      await Promise.all(this.entries.filter((entry) => entry.state === 'down').map((entry) => this.connect(entry)));
      this.rebuildIndex();
    }
    return this.status();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(
      this.entries.map(async (entry) => {
        const client = entry.client;
        entry.client = undefined;
        if (entry.state !== 'disabled') this.setState(entry, 'closed');
        await client?.close();
      }),
    );
    this.index = new Map();
  }

  async callTool(name: string, args: Record<string, unknown>, options: ToolCallOptions = {}): Promise<ToolCallResult> {
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
    const failure = (kind: ToolErrorKind, text: string, server?: string): ToolCallResult => ({
      tool: name,
      ...(server === undefined ? {} : { server }),
      isError: true,
      errorKind: kind,
      text,
      content: [{ type: 'text', text }],
      durationMs: elapsed(),
    });
    throwIfCancelled(options.signal, name);

    const tool = this.index.get(name);
    if (tool === undefined) {
      const known = [...this.index.keys()];
      const list = known.length === 0 ? 'none are available' : `available tools: ${known.slice(0, 30).join(', ')}${known.length > 30 ? ', ...' : ''}`;
      return failure('unknown_tool', `Unknown tool "${name}"; ${list}.`);
    }
    const entry = this.entries.find((candidate) => candidate.name === tool.server);
    const client = entry?.client;
    if (entry === undefined || client === undefined || entry.state !== 'connected') {
      return failure('server_unavailable', `Tool "${name}" is unavailable: MCP server "${tool.server}" is ${entry?.state ?? 'unknown'}${entry?.error === undefined ? '' : ` (${entry.error})`}.`, tool.server);
    }
    const timeoutMs = options.timeoutMs ?? entry.config.timeoutMs ?? this.defaultTimeoutMs;

    return inSpan(
      `execute_tool ${name}`,
      { kind: SpanKind.CLIENT, attributes: { ...toolSpanAttributes({ tool: name, arguments: args }), 'mcp.server': tool.server, 'mcp.tool': tool.serverToolName } },
      async (span) => {
        let outcome: ToolCallResult;
        try {
          const result = (await client.callTool({ name: tool.serverToolName, arguments: args }, undefined, {
            timeout: timeoutMs,
            ...(options.signal === undefined ? {} : { signal: options.signal }),
          })) as CallToolResult;
          outcome = {
            tool: name,
            server: tool.server,
            isError: result.isError === true,
            ...(result.isError === true ? { errorKind: 'tool_error' as const } : {}),
            text: resultText(result),
            content: result.content,
            ...(result.structuredContent === undefined ? {} : { structuredContent: result.structuredContent }),
            durationMs: elapsed(),
          };
        } catch (error) {
          throwIfCancelled(options.signal, name, error);
          if (error instanceof McpError && error.code === (McpErrorCode.RequestTimeout as number)) {
            outcome = failure('timeout', `Tool "${name}" timed out after ${timeoutMs} ms and was cancelled; try again with a simpler request or another tool.`, tool.server);
          } else if (error instanceof McpError) {
            outcome = failure('protocol_error', `Tool "${name}" failed on MCP server "${tool.server}": ${error.message}`, tool.server);
          } else {
            const reason = error instanceof Error ? error.message : String(error);
            entry.error = `last call failed: ${reason}`;
            outcome = failure('server_unavailable', `Tool "${name}" could not be reached on MCP server "${tool.server}": ${reason}`, tool.server);
          }
        }
        span.setAttribute('output.value', outcome.text);
        if (outcome.isError) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.errorKind ?? 'tool_error' });
        this.logger.info(
          { tool: name, server: tool.server, is_error: outcome.isError, error_kind: outcome.errorKind, duration_ms: outcome.durationMs },
          'tool call',
        );
        return outcome;
      },
    );
  }

  private async connect(entry: ServerEntry): Promise<void> {
    const config = entry.config;
    const client = new Client(this.options.clientInfo ?? CLIENT_INFO, {
      capabilities: {},
      listChanged: {
        // The SDK debounces bursts of notifications; we re-list ourselves so pagination is honoured.
        tools: { autoRefresh: false, debounceMs: 50, onChanged: () => void this.refreshTools(entry, client) },
      },
    });
    let transport: Transport;
    if (isHttpServerConfig(config)) {
      transport = new StreamableHTTPClientTransport(new URL(config.url), config.headers === undefined ? {} : { requestInit: { headers: config.headers } });
    } else {
      const stdio = new StdioClientTransport({
        command: config.command,
        ...(config.args === undefined ? {} : { args: config.args }),
        ...(config.env === undefined ? {} : { env: config.env }),
        ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
        stderr: 'pipe',
      });
      this.captureStderr(entry, stdio);
      transport = stdio;
    }
    const signal = AbortSignal.timeout(this.connectTimeoutMs);
    try {
      await client.connect(transport, { timeout: this.connectTimeoutMs, signal });
      entry.tools = this.filterTools(entry, await listAllTools(client, { timeout: this.connectTimeoutMs, signal }));
    } catch (error) {
      await client.close().catch(() => undefined);
      const reason = describeConnectError(error, signal, this.connectTimeoutMs, entry.stderrTail);
      entry.error = reason;
      this.setState(entry, 'down');
      this.logger.warn({ server: entry.name, transport: entry.transport, error: reason }, 'MCP server unavailable; its tools are skipped');
      return;
    }
    if (this.closed) {
      await client.close();
      return;
    }
    entry.client = client;
    delete entry.error;
    this.setState(entry, 'connected');
    client.onclose = () => {
      // A stdio server that exited (or a transport closed under us) takes its tools with it.
      if (entry.client !== client || this.closed) return;
      entry.client = undefined;
      entry.error = entry.stderrTail.length > 0 ? `connection closed; last output: ${entry.stderrTail.at(-1)}` : 'connection closed';
      this.setState(entry, 'down');
      this.rebuildIndex();
      this.logger.warn({ server: entry.name, error: entry.error }, 'MCP server disconnected; its tools are skipped');
    };
    this.warnAboutUnknownNames(entry);
    this.logger.info({ server: entry.name, transport: entry.transport, tools: entry.tools.length }, 'MCP server connected');
  }

  private async refreshTools(entry: ServerEntry, client: Client): Promise<void> {
    if (entry.client !== client || this.closed) return;
    try {
      entry.tools = this.filterTools(entry, await listAllTools(client, { timeout: this.connectTimeoutMs }));
      this.rebuildIndex();
      this.logger.info({ server: entry.name, tools: entry.tools.length }, 'MCP tool list changed');
      this.options.onToolsChanged?.(entry.name);
    } catch (error) {
      entry.error = `tool list refresh failed: ${error instanceof Error ? error.message : String(error)}`;
      this.logger.warn({ server: entry.name, error: entry.error }, 'MCP tool list refresh failed; keeping the previous list');
    }
  }

  private filterTools(entry: ServerEntry, tools: Tool[]): Tool[] {
    const allowed = entry.config.allowedTools;
    return allowed === undefined ? tools : tools.filter((tool) => allowed.includes(tool.name));
  }

  private rebuildIndex(): void {
    const flat = this.entries
      .filter((entry) => entry.state === 'connected')
      .flatMap((entry) =>
        entry.tools.map((tool) => {
          const approvalTimeoutSeconds = approvalTimeout(entry.config, tool.name);
          return {
            server: entry.name,
            serverToolName: tool.name,
            inputSchema: tool.inputSchema,
            requiresApproval: needsApproval(entry.config, tool.name),
            ...(approvalTimeoutSeconds === undefined ? {} : { approvalTimeoutSeconds }),
            ...(tool.title === undefined ? {} : { title: tool.title }),
            ...(tool.description === undefined ? {} : { description: tool.description }),
            ...(tool.outputSchema === undefined ? {} : { outputSchema: tool.outputSchema }),
            ...(tool.annotations === undefined ? {} : { annotations: tool.annotations }),
          };
        }),
      );
    this.index = new Map(assignToolNames(flat).map((tool) => [tool.name, tool]));
  }

  private warnAboutUnknownNames(entry: ServerEntry): void {
    // Approval lists name tools by the server's own names; a typo there would silently skip approval.
    const listed = new Set(entry.tools.map((tool) => tool.name));
    const approval = Array.isArray(entry.config.requireApproval) ? entry.config.requireApproval : [];
    const timeouts = typeof entry.config.approvalTimeoutSeconds === 'object' ? Object.keys(entry.config.approvalTimeoutSeconds).filter((name) => name !== '*') : [];
    const unknown = [...approval, ...timeouts, ...(entry.config.allowedTools ?? [])].filter((name) => !listed.has(name));
    if (unknown.length > 0) this.logger.warn({ server: entry.name, tools: unknown }, 'MCP config names tools this server does not offer');
  }

  private captureStderr(entry: ServerEntry, transport: StdioClientTransport): void {
    let partial = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        entry.stderrTail.push(line.slice(0, 500));
        if (entry.stderrTail.length > STDERR_TAIL_LINES) entry.stderrTail.shift();
        this.logger.debug({ server: entry.name, stderr: line }, 'MCP server stderr');
      }
    });
  }

  private setState(entry: ServerEntry, state: McpServerState): void {
    if (entry.state === state) return;
    entry.state = state;
    entry.since = new Date().toISOString();
  }
}

async function listAllTools(client: Client, options: { timeout: number; signal?: AbortSignal }): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  // Bounded so a server that keeps handing out cursors cannot hang the toolbox.
  for (let page = 0; page < 100; page += 1) {
    const result = await client.listTools(cursor === undefined ? {} : { cursor }, options);
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined) break;
  }
  return tools;
}

/** OpenAI takes the JSON Schema as is, minus the `$schema` dialect marker some validators reject. */
function toFunctionParameters(schema: Tool['inputSchema']): Record<string, unknown> {
  const { $schema: _dialect, ...parameters } = schema;
  return parameters;
}

function needsApproval(config: McpServerConfig, toolName: string): boolean {
  const rule = config.requireApproval;
  return rule === true || (Array.isArray(rule) && rule.includes(toolName));
}

function approvalTimeout(config: McpServerConfig, toolName: string): number | undefined {
  const rule = config.approvalTimeoutSeconds;
  return typeof rule === 'number' ? rule : (rule?.[toolName] ?? rule?.['*']);
}

function resultText(result: CallToolResult): string {
  const parts = result.content.map((block) => {
    switch (block.type) {
      case 'text':
        return block.text;
      case 'image':
      case 'audio':
        return `[${block.type}: ${block.mimeType}]`;
      case 'resource_link':
        return `[resource: ${block.uri}]`;
      case 'resource':
        return 'text' in block.resource ? block.resource.text : `[resource: ${block.resource.uri}]`;
      default:
        return '';
    }
  });
  const text = parts.filter((part) => part !== '').join('\n');
  if (text === '' && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return text;
}

function throwIfCancelled(signal: AbortSignal | undefined, tool: string, cause?: unknown): void {
  if (signal?.aborted === true) {
    throw new EnsembleError(ErrorCode.Cancelled, `Tool call "${tool}" was cancelled`, { cause: cause ?? signal.reason });
  }
}

function describeConnectError(error: unknown, signal: AbortSignal, timeoutMs: number, stderrTail: readonly string[]): string {
  let reason: string;
  if (signal.aborted || (error instanceof McpError && error.code === (McpErrorCode.RequestTimeout as number))) {
    reason = `no answer within ${timeoutMs} ms`;
  } else if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    reason = `${error.message}${cause}`;
  } else {
    reason = String(error);
  }
  const lastLine = stderrTail.at(-1);
  return lastLine === undefined ? reason : `${reason} (stderr: ${lastLine})`;
}
