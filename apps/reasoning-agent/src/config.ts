import { AgentServiceSettings } from '@ensemble/a2a';
import { env } from '@ensemble/config';
import { z } from 'zod';

/** Every variable the reasoning agent reads (the README's configuration table lists them with these defaults). */
export const ReasoningAgentConfig = z.object({
  REASONING_AGENT_HOST: env.host(),
  REASONING_AGENT_PORT: env.port(8003),
  /** URL announced in the Agent Card when it differs from the bound address (behind a proxy). */
  REASONING_AGENT_PUBLIC_URL: env.optionalUrl(),
  /** MCP client configuration (desktop-client format, see packages/mcp/README.md). */
  MCP_CONFIG_FILE: env.string('config/mcp-servers.json'),
  /** Comma-separated server names from that file the agent may use; empty = every enabled server. */
  REASONING_MCP_SERVERS: env.list(),
  REASONING_MODEL: env.string('gpt-4o-mini'),
  /** Most model turns that may call tools; after that the agent asks the model for a partial answer. */
  REASONING_MAX_STEPS: env.int(8, 1),
  /** Cap on one tool call; unset = the server's `timeoutMs` from the MCP config, else 60 s. */
  REASONING_TOOL_TIMEOUT_MS: z.coerce.number().int().min(1).optional(),
  /** Budget of one model turn (the whole streamed response). */
  REASONING_LLM_TIMEOUT_MS: env.int(120_000, 1),
  OPENAI_BASE_URL: env.string('https://api.openai.com/v1'),
  OPENAI_API_KEY: env.optionalString(),
  ...AgentServiceSettings.shape,
  /** `redis` keeps tasks (and approvals waiting for an answer) across restarts and replicas. */
  REASONING_TASK_STORE: z.enum(['redis', 'memory']).default('redis'),
});
export type ReasoningAgentConfig = z.infer<typeof ReasoningAgentConfig>;
