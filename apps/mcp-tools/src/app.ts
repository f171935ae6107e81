import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { type ServiceEnv, bearerAuth, createHttpApp, mountReadiness } from '@ensemble/service';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Hono, MiddlewareHandler } from 'hono';

import { type McpToolsDeps, createMcpToolsServer } from './server.js';

export interface McpToolsAppDeps extends McpToolsDeps {
  /** Bearer tokens accepted on /mcp; an empty list disables auth. */
  authTokens: readonly string[];
  /** Browser origins allowed besides localhost ones. */
  allowedOrigins: readonly string[];
}

/**
 * The MCP tool server over stateless Streamable HTTP at `/mcp`, plus `/health`. Stateless: every POST gets
 * a fresh MCP server and transport, so any instance can answer any request and nothing leaks between
 * clients. Responses are plain JSON (no SSE) because no tool streams progress. GET (the server-to-client
 * SSE stream) and DELETE (session end) are answered 405, as the spec allows for servers without sessions.
 */
export function createMcpToolsApp(deps: McpToolsAppDeps): Hono<ServiceEnv> {
  const app = createHttpApp({ logger: deps.logger });
  app.get('/health', (c) => c.json({ status: 'ok', service: 'mcp-tools' }));
  // The calculator (its worker, in the service) must answer; the other tools' backends are remote and
  // optional per call, so they do not make the server unready.
  mountReadiness(app, { checks: [{ name: 'calculator', check: () => deps.calculator.calculate('1+1').then(() => undefined) }] });
  app.use('/mcp', originGuard(deps.allowedOrigins));
  app.use('/mcp', bearerAuth(deps.authTokens));
  app.post('/mcp', async (c) => {
    const server = createMcpToolsServer(deps);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      // The JSON response is complete at this point; closing frees the per-request server.
      await server.close();
    }
  });
  app.on(['GET', 'DELETE'], '/mcp', (c) => {
    c.header('Allow', 'POST');
    return c.json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP server is stateless; send JSON-RPC requests with POST' }, id: null }, 405);
  });
  return app;
}

/**
 * DNS-rebinding protection the MCP spec asks local servers for: a browser page from another origin must
 * not be able to drive the tools. Requests without `Origin` (every non-browser client) pass.
 */
function originGuard(allowed: readonly string[]): MiddlewareHandler<ServiceEnv> {
  const allowedSet = new Set(allowed);
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && !allowedSet.has(origin) && !isLoopbackOrigin(origin)) {
      throw new EnsembleError(ErrorCode.Forbidden, `Origin ${origin} is not allowed to use this MCP server (see MCP_TOOLS_ALLOWED_ORIGINS)`, {
        wireCode: 'origin_not_allowed',
      });
    }
    return next();
  };
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const { hostname } = new URL(origin);
    return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
  } catch {
    return false;
  }
}
