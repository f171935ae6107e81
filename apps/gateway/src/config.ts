import { AgentServiceSettings } from '@ensemble/a2a';
import { ApprovalWebhookSettings, requireApprovalWebhookSecret } from '@ensemble/approvals';
import { env } from '@ensemble/config';
import { DEFAULT_REASONING_TEXT_FIELD, REASONING_TEXT_FIELDS } from '@ensemble/openai-a2a';
import { z } from 'zod';

/** Every variable the gateway reads (the README's configuration table lists them with these defaults). */
export const GatewayConfig = z.object({
  GATEWAY_HOST: env.host(),
  GATEWAY_PORT: env.port(8000),
  /** Comma-separated bearer tokens for `/v1`; empty means no auth and a loopback-only bind. */
  API_TOKENS: env.list(),
  OPENAI_BASE_URL: env.string('https://api.openai.com/v1'),
  OPENAI_API_KEY: env.optionalString(),
  /** Time allowed for the upstream to start answering (headers), per passthrough call. */
  UPSTREAM_TIMEOUT_MS: env.int(600_000, 1),
  REDIS_URL: env.string('redis://127.0.0.1:6379'),
  /** Put before every Redis key (sessions are read under it, so it must match the orchestrator's). */
  REDIS_KEY_PREFIX: env.string('ensemble:'),
  /**
   * The orchestrators' base URLs (A2A), comma-separated: complex requests, session cancels and approval
   * wake-ups go to them in turn, skipping one that cannot be reached (any replica runs any session).
   */
  ORCHESTRATOR_URL: env
    .string('http://127.0.0.1:8001')
    .transform((value) => value.split(',').map((url) => url.trim()).filter((url) => url !== ''))
    .pipe(z.array(z.url()).min(1)),
  /** Bearer token presented to the orchestrator: one of its `AGENT_AUTH_TOKENS`, so it trusts our principal. */
  AGENT_CLIENT_TOKEN: env.optionalString(),
  /** Longest quiet gap in the orchestrator's stream (one slow agent step) before the gateway stops reading. */
  ORCHESTRATOR_TIMEOUT_MS: env.int(600_000, 1),
  /**
   * Delta field that carries each orchestration progress event as a line of text for chat UIs:
   * `reasoning_content` (DeepSeek / vLLM style), `reasoning` (OpenRouter / Ollama style) or `none`.
   * The structured event is always in `delta.reasoning_event`.
   */
  ORCHESTRATION_REASONING_FIELD: z.enum(REASONING_TEXT_FIELDS).default(DEFAULT_REASONING_TEXT_FIELD),
  /** Agent base URLs shown by `GET /v1/agents` (discovered from their Agent Cards). */
  AGENT_URLS: env.list(),
  /** How often every agent's card and health are checked for `GET /v1/agents`. */
  AGENT_REFRESH_INTERVAL_MS: env.int(30_000, 100),
  /** Largest request body (the passthrough path; orchestrated requests must also fit `A2A_MAX_BODY_BYTES`). */
  MAX_BODY_BYTES: env.int(10 * 1024 * 1024, 1),
  /** What every agent accepts (the same variable they read): orchestrated conversations that would not fit get a 413. */
  A2A_MAX_BODY_BYTES: AgentServiceSettings.shape.A2A_MAX_BODY_BYTES,
  /** The local first-stage classifier (rules + a small shipped model, no model call) before the LLM one. */
  ROUTING_LOCAL_CLASSIFIER: env.boolean(true),
  /** It decides alone only when its probability for the route is at least this; otherwise the LLM classifier does. */
  ROUTING_LOCAL_THRESHOLD: z.coerce.number().min(0.5).max(1).default(0.9),
  ROUTING_CLASSIFIER_MODEL: env.string('gpt-4o-mini'),
  ROUTING_CLASSIFIER_TEMPERATURE: z.coerce.number().min(0).max(2).default(0),
  ROUTING_CLASSIFIER_TIMEOUT_MS: env.int(3_000, 1),
  ROUTING_CACHE_MAX_ENTRIES: env.int(10_000, 0),
  ROUTING_CACHE_TTL_MS: env.int(600_000, 1),
  LOG_LEVEL: env.logLevel(),
  /** Log lines are written together at most this often (one write per request line costs a system call); 0 writes each at once. */
  LOG_FLUSH_INTERVAL_MS: env.int(100, 0),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.optionalUrl(),
  OTEL_EXPORTER_OTLP_PROTOCOL: env.otlpProtocol(),
  /** Approval webhooks: the gateway sends the decisions made through the approvals API, and the expiries. */
  ...ApprovalWebhookSettings.shape,
}).superRefine(requireApprovalWebhookSecret);
export type GatewayConfig = z.infer<typeof GatewayConfig>;

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1|\[::1\])$/i;

/**
 * Where the gateway may listen. Without API tokens anyone who can reach the port can spend the
 * upstream key, so the gateway then binds to loopback whatever `GATEWAY_HOST` says, and says so.
 */
export function resolveBindHost(host: string, apiTokens: readonly string[]): { host: string; warning?: string } {
  if (apiTokens.length > 0) return { host };
  if (LOOPBACK.test(host)) return { host, warning: 'API_TOKENS is empty: /v1 routes accept unauthenticated requests (loopback only)' };
  return {
    host: '127.0.0.1',
    warning: `API_TOKENS is empty: binding to 127.0.0.1 instead of ${host} so the unauthenticated gateway is not reachable from other machines`,
  };
}
