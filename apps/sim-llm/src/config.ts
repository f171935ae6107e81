import { env } from '@ensemble/config';
import { z } from 'zod';

/** sim-llm's environment variables (read by main.ts only). */
export const SimLlmConfig = z.object({
  SIM_LLM_HOST: env.host(),
  SIM_LLM_PORT: env.port(8100),
  /** Default time to first token, ms. */
  SIM_LLM_TTFT_MS: env.int(0),
  /** Default pacing after the first token; 0 = unpaced. */
  SIM_LLM_TOKENS_PER_SECOND: z.coerce.number().nonnegative().default(0),
  /** How many requests `/_sim/requests` keeps (oldest dropped first). */
  SIM_LLM_MAX_RECORDED_REQUESTS: env.int(1000, 1),
  LOG_LEVEL: env.logLevel(),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.optionalUrl(),
  OTEL_EXPORTER_OTLP_PROTOCOL: env.otlpProtocol(),
});
export type SimLlmConfig = z.infer<typeof SimLlmConfig>;
