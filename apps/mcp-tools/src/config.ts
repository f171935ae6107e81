import { env } from '@ensemble/config';
import { VectorStoreSettings } from '@ensemble/vectors/open';
import { z } from 'zod';

import { WEB_SEARCH_PROVIDERS } from './tools/web-search.js';

export const McpToolsConfig = z
  .object({
    // The knowledge base is searched only when a database is named (DATABASE_URL or EMBEDDED_PG_URL).
    ...VectorStoreSettings.shape,
    MCP_TOOLS_HOST: env.host(),
    MCP_TOOLS_PORT: env.port(8010),
    /** Bearer tokens accepted on /mcp; empty = no auth (bind to loopback then). */
    MCP_AUTH_TOKENS: env.list(),
    /** Browser origins allowed on /mcp besides localhost ones (DNS-rebinding protection). */
    MCP_TOOLS_ALLOWED_ORIGINS: env.list(),
    /** Timeout for each call to an external API (weather, web search). */
    MCP_TOOLS_HTTP_TIMEOUT_MS: env.int(10_000, 1),
    /** Longest a calculator expression may evaluate (in a worker thread) before it is stopped. */
    MCP_CALCULATOR_TIMEOUT_MS: env.int(2_000, 1),
    WEATHER_API_URL: env.optionalUrl(),
    WEATHER_GEOCODING_URL: env.optionalUrl(),
    WEB_SEARCH_PROVIDER: z.enum(WEB_SEARCH_PROVIDERS).optional(),
    WEB_SEARCH_API_URL: env.optionalUrl(),
    WEB_SEARCH_API_KEY: env.optionalString(),
    LOG_LEVEL: env.logLevel(),
    OTEL_EXPORTER_OTLP_ENDPOINT: env.optionalUrl(),
    OTEL_EXPORTER_OTLP_PROTOCOL: env.otlpProtocol(),
  })
  .superRefine((config, ctx) => {
    // A half-configured provider is an operator mistake: fail at start-up, not on the first search.
    if (config.WEB_SEARCH_PROVIDER === 'brave' && config.WEB_SEARCH_API_KEY === undefined) {
      ctx.addIssue({ code: 'custom', path: ['WEB_SEARCH_API_KEY'], message: 'required when WEB_SEARCH_PROVIDER=brave (a Brave Search API subscription token)' });
    }
    if (config.WEB_SEARCH_PROVIDER === 'searxng' && config.WEB_SEARCH_API_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['WEB_SEARCH_API_URL'], message: 'required when WEB_SEARCH_PROVIDER=searxng (the instance base URL)' });
    }
  });
export type McpToolsConfig = z.infer<typeof McpToolsConfig>;
