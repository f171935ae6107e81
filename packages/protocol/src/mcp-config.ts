import { z } from 'zod';

/**
 * MCP client configuration in the format desktop MCP clients use (`{"mcpServers": {name: {...}}}`), plus
 * Ensemble's per-server extensions. Values here are already `${VAR}`-expanded: `@ensemble/mcp` expands
 * the raw JSON and then validates it against these schemas.
 *
 * Server entries are strict objects on purpose: a misspelt `requireApproval` must be an error, not a
 * silently ignored key that lets a destructive tool run without approval.
 */

/** A server name; also the prefix of a namespaced tool name, so it stays within OpenAI's name charset. */
export const McpServerName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,48}$/, 'server names may use letters, digits, "_" and "-" (at most 48 characters)');

const extensions = {
  /** Skip this server entirely (it is reported as `disabled` in the toolbox status). */
  disabled: z.boolean().optional(),
  /** Default per-call timeout for this server's tools, in milliseconds. */
  timeoutMs: z.number().int().positive().max(600_000).optional(),
  /** Tools (by the server's own names) that need human approval before they run; `true` means all. */
  requireApproval: z.union([z.boolean(), z.array(z.string().min(1))]).optional(),
  /**
   * How long an approval for this server's tools waits for a decision, in seconds, over the
   * orchestrator's `APPROVAL_TIMEOUT_SECONDS`: one number for every tool, or `{tool: seconds}` by the
   * server's own tool names (`"*"` for the others).
   */
  approvalTimeoutSeconds: z.union([z.number().int().positive(), z.record(z.string().min(1), z.number().int().positive())]).optional(),
  /** Only these tools (by the server's own names) are exposed; all when omitted. */
  allowedTools: z.array(z.string().min(1)).optional(),
};

/** A server reached over MCP Streamable HTTP. */
export const McpHttpServerConfig = z.strictObject({
  type: z.enum(['http', 'streamable-http']).optional(),
  url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }),
  headers: z.record(z.string(), z.string()).optional(),
  ...extensions,
});
export type McpHttpServerConfig = z.infer<typeof McpHttpServerConfig>;

/** A server launched as a child process speaking MCP over stdio. */
export const McpStdioServerConfig = z.strictObject({
  type: z.literal('stdio').optional(),
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().min(1).optional(),
  ...extensions,
});
export type McpStdioServerConfig = z.infer<typeof McpStdioServerConfig>;

export const McpServerConfig = z.union([McpHttpServerConfig, McpStdioServerConfig]);
export type McpServerConfig = z.infer<typeof McpServerConfig>;

export const McpServersConfig = z.object({
  mcpServers: z.record(McpServerName, McpServerConfig),
});
export type McpServersConfig = z.infer<typeof McpServersConfig>;
