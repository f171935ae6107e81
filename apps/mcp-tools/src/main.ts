import { loadConfig } from '@ensemble/config';
import { type Logger, createLogger, startTelemetry } from '@ensemble/telemetry';
import { onShutdownSignal, serveHttp } from '@ensemble/service';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

import { createMcpToolsApp } from './app.js';
import { McpToolsConfig } from './config.js';
import { type McpToolsDeps, createMcpToolsServer } from './server.js';
import { openVectorStore } from '@ensemble/vectors/open';

import { type KnowledgeBase, UnconfiguredKnowledgeBase } from './tools/knowledge-base.js';
import { WorkerCalculator } from './tools/sandboxed-calculator.js';
import { VectorKnowledgeBase } from './tools/vector-knowledge-base.js';

const SERVICE = 'mcp-tools';
const stdio = process.argv.includes('--stdio');
// In stdio mode stdout carries the MCP protocol, so every log line goes to stderr.
const bootLogger = createLogger({ service: SERVICE, ...(stdio ? { destination: process.stderr } : {}) });

let config: McpToolsConfig;
try {
  config = loadConfig(McpToolsConfig, process.env);
} catch (error) {
  bootLogger.fatal({ err: error }, 'invalid configuration');
  process.exit(1);
}

const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL, ...(stdio ? { destination: process.stderr } : {}) });
const telemetry = startTelemetry({ serviceName: SERVICE, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, otlpProtocol: config.OTEL_EXPORTER_OTLP_PROTOCOL });

const knowledgeBaseConfigured = config.DATABASE_URL !== undefined || config.EMBEDDED_PG_URL !== undefined;
const knowledgeBase: KnowledgeBase & { close?(): Promise<void> } = knowledgeBaseConfigured
  ? new VectorKnowledgeBase(() => openVectorStore(config, { log: (line) => logger.info(line) }))
  : new UnconfiguredKnowledgeBase();
const calculator = new WorkerCalculator({ timeoutMs: config.MCP_CALCULATOR_TIMEOUT_MS, logger });
// Loaded in the background: start-up does not wait for mathjs, and a first call waits only for what is left.
calculator.warm().catch((error: unknown) => logger.warn({ err: error }, 'calculator worker did not start; the first call tries again'));
const deps: McpToolsDeps = {
  logger,
  calculator,
  knowledgeBase,
  weather: {
    timeoutMs: config.MCP_TOOLS_HTTP_TIMEOUT_MS,
    ...(config.WEATHER_API_URL === undefined ? {} : { forecastUrl: config.WEATHER_API_URL }),
    ...(config.WEATHER_GEOCODING_URL === undefined ? {} : { geocodingUrl: config.WEATHER_GEOCODING_URL }),
  },
  webSearch: {
    timeoutMs: config.MCP_TOOLS_HTTP_TIMEOUT_MS,
    ...(config.WEB_SEARCH_PROVIDER === undefined ? {} : { provider: config.WEB_SEARCH_PROVIDER }),
    ...(config.WEB_SEARCH_API_URL === undefined ? {} : { apiUrl: config.WEB_SEARCH_API_URL }),
    ...(config.WEB_SEARCH_API_KEY === undefined ? {} : { apiKey: config.WEB_SEARCH_API_KEY }),
  },
};
logger.info(
  { weather: deps.weather.forecastUrl !== undefined, web_search: deps.webSearch.provider ?? null, knowledge_base: knowledgeBaseConfigured },
  'tool backends',
);

if (stdio) await runStdio(deps, logger);
else await runHttp(deps, logger);

async function runHttp(toolDeps: McpToolsDeps, log: Logger): Promise<void> {
  const app = createMcpToolsApp({ ...toolDeps, authTokens: config.MCP_AUTH_TOKENS, allowedOrigins: config.MCP_TOOLS_ALLOWED_ORIGINS });
  if (config.MCP_AUTH_TOKENS.length === 0 && !['127.0.0.1', 'localhost', '::1'].includes(config.MCP_TOOLS_HOST)) {
    log.warn({ host: config.MCP_TOOLS_HOST }, 'MCP_AUTH_TOKENS is empty and the server is not bound to loopback: anyone who can reach it can call the tools');
  }
  const server = await serveHttp(app, { host: config.MCP_TOOLS_HOST, port: config.MCP_TOOLS_PORT, logger: log, service: SERVICE });
  log.info({ endpoint: `${server.url}/mcp`, auth: config.MCP_AUTH_TOKENS.length > 0 }, 'MCP endpoint ready');
  onShutdownSignal(log, async () => {
    await server.close();
    await knowledgeBase.close?.();
    await calculator.close();
    await telemetry.shutdown();
  });
}

async function runStdio(toolDeps: McpToolsDeps, log: Logger): Promise<void> {
  const server = createMcpToolsServer(toolDeps);
  const stop = async () => {
    await server.close();
    await calculator.close();
    await telemetry.shutdown();
  };
  await server.connect(new StdioServerTransport());
  log.info({ transport: 'stdio' }, 'MCP server ready on stdio');
  // The client closing our stdin is how desktop MCP clients end a stdio server.
  process.stdin.once('end', () => {
    log.info('stdin closed; exiting');
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  onShutdownSignal(log, stop);
}
