import { readFileSync } from 'node:fs';

import { openAgentTaskStore } from '@ensemble/a2a/redis';
import { loadConfig } from '@ensemble/config';
import { onShutdownSignal } from '@ensemble/service';
import { createLogger, startTelemetry } from '@ensemble/telemetry';

import { createMockAgentApp } from './app.js';
import { MockAgentsEnv, resolveBehaviour, resolvePort } from './config.js';

const config = loadConfig(MockAgentsEnv, process.env);
const behaviour = resolveBehaviour(config, (path) => readFileSync(path, 'utf8'));
const telemetry = startTelemetry({ serviceName: behaviour.name, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, otlpProtocol: config.OTEL_EXPORTER_OTLP_PROTOCOL });
const logger = createLogger({ service: behaviour.name, level: config.LOG_LEVEL });

const tasks = openAgentTaskStore(config.MOCK_AGENT_TASK_STORE, config, logger);

const service = createMockAgentApp({
  behaviour,
  logger,
  taskStore: tasks.taskStore,
  authTokens: config.AGENT_AUTH_TOKENS,
  publicUrl: config.MOCK_AGENT_PUBLIC_URL,
  shutdownGraceMs: config.A2A_SHUTDOWN_GRACE_MS,
  maxBodyBytes: config.A2A_MAX_BODY_BYTES,
  pushNotifications: { store: tasks.pushStore, allowPrivate: config.A2A_PUSH_ALLOW_PRIVATE },
  readiness: tasks.readiness,
  crash: (exitCode) => {
    logger.fatal({ exit_code: exitCode }, 'crashing on purpose (failure mode "crash")');
    process.exit(exitCode);
  },
});

// Registered before listening: whoever reads the `listening` line may stop the agent at once (the kit
// builds its card after that line), and a SIGTERM with no handler would skip the graceful drain.
onShutdownSignal(logger, async () => {
  await service.stop();
  await tasks.close();
  await telemetry.shutdown();
});

await service.start({ host: config.MOCK_AGENT_HOST, port: resolvePort(config) });
logger.info({ agent: behaviour.name, skills: behaviour.skills.map((skill) => skill.id), failure: behaviour.failure.mode, store: config.MOCK_AGENT_TASK_STORE }, 'mock agent ready');
