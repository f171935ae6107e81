import { openAgentTaskStore } from '@ensemble/a2a/redis';
import { loadConfig } from '@ensemble/config';
import { createLlmClient, upstreamReadiness } from '@ensemble/llm';
import { createMcpToolbox, loadMcpServersConfig } from '@ensemble/mcp';
import { onShutdownSignal } from '@ensemble/service';
import { createLogger, startTelemetry } from '@ensemble/telemetry';

import { REASONING_AGENT_NAME, createReasoningAgentApp } from './app.js';
import { ReasoningAgentConfig } from './config.js';

const config = loadConfig(ReasoningAgentConfig, process.env);
const telemetry = startTelemetry({ serviceName: REASONING_AGENT_NAME, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, otlpProtocol: config.OTEL_EXPORTER_OTLP_PROTOCOL });
const logger = createLogger({ service: REASONING_AGENT_NAME, level: config.LOG_LEVEL });

const mcpConfig = await loadMcpServersConfig(config.MCP_CONFIG_FILE, { env: process.env });
// Servers that are down are reported (GET /tools, logs) and skipped; the agent still answers without them.
const toolbox = await createMcpToolbox(mcpConfig, {
  logger,
  clientInfo: { name: REASONING_AGENT_NAME, version: '0.1.0' },
  ...(config.REASONING_MCP_SERVERS.length === 0 ? {} : { servers: config.REASONING_MCP_SERVERS }),
});

const llm = createLlmClient({ baseURL: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY, timeoutMs: config.REASONING_LLM_TIMEOUT_MS });

const tasks = openAgentTaskStore(config.REASONING_TASK_STORE, config, logger);

const service = createReasoningAgentApp({
  llm,
  toolbox,
  model: config.REASONING_MODEL,
  maxSteps: config.REASONING_MAX_STEPS,
  llmTimeoutMs: config.REASONING_LLM_TIMEOUT_MS,
  ...(config.REASONING_TOOL_TIMEOUT_MS === undefined ? {} : { toolTimeoutMs: config.REASONING_TOOL_TIMEOUT_MS }),
  logger,
  taskStore: tasks.taskStore,
  pushNotifications: { store: tasks.pushStore, allowPrivate: config.A2A_PUSH_ALLOW_PRIVATE },
  authTokens: config.AGENT_AUTH_TOKENS,
  publicUrl: config.REASONING_AGENT_PUBLIC_URL,
  shutdownGraceMs: config.A2A_SHUTDOWN_GRACE_MS,
  maxBodyBytes: config.A2A_MAX_BODY_BYTES,
  // MCP servers are left out on purpose: the agent answers without a server that is down (see above).
  readiness: [...tasks.readiness, upstreamReadiness(llm)],
});

// Registered before listening: whoever reads the `listening` line may stop the agent at once (the kit
// builds its card after that line), and a SIGTERM with no handler would skip the graceful drain.
onShutdownSignal(logger, async () => {
  await service.stop();
  await toolbox.close();
  await tasks.close();
  await telemetry.shutdown();
});

await service.start({ host: config.REASONING_AGENT_HOST, port: config.REASONING_AGENT_PORT });
logger.info(
  { model: config.REASONING_MODEL, max_steps: config.REASONING_MAX_STEPS, tools: toolbox.tools().length, mcp_servers: toolbox.status().map((server) => `${server.name}:${server.state}`), store: config.REASONING_TASK_STORE },
  'reasoning agent ready',
);
