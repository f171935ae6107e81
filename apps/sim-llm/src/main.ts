import { loadConfig } from '@ensemble/config';
import { onShutdownSignal, serveHttp } from '@ensemble/service';
import { createLogger, startTelemetry } from '@ensemble/telemetry';

import { createSimLlmApp } from './app.js';
import { SimLlmConfig } from './config.js';

function readConfig(): SimLlmConfig {
  try {
    return loadConfig(SimLlmConfig, process.env);
  } catch (error) {
    // One readable message naming every bad variable, no stack trace: this is an operator's typo.
    process.stderr.write(`sim-llm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

const config = readConfig();
// Tracing only when there is somewhere to send it: sim-llm is what benchmarks measure against, so it
// does no per-request work it does not need.
const telemetry = config.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? undefined : startTelemetry({ serviceName: 'sim-llm', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, otlpProtocol: config.OTEL_EXPORTER_OTLP_PROTOCOL });
const logger = createLogger({ service: 'sim-llm', level: config.LOG_LEVEL });

const { app } = createSimLlmApp({
  logger,
  ttftMs: config.SIM_LLM_TTFT_MS,
  tokensPerSecond: config.SIM_LLM_TOKENS_PER_SECOND,
  maxRecordedRequests: config.SIM_LLM_MAX_RECORDED_REQUESTS,
});
const server = await serveHttp(app, { host: config.SIM_LLM_HOST, port: config.SIM_LLM_PORT, logger, service: 'sim-llm' });

onShutdownSignal(logger, async () => {
  // Hung requests (`hang: true`) only end when their client leaves; do not wait long for them.
  await server.close(2000);
  await telemetry?.shutdown();
});
