export { expandVariables, isHttpServerConfig, loadMcpServersConfig, parseMcpServersConfig } from './config.js';
export type { McpConfigEnv, ParseMcpConfigOptions } from './config.js';
export { assignToolNames } from './tool-names.js';
export { createMcpToolbox } from './toolbox.js';
export type {
  McpServerState,
  McpServerStatus,
  McpToolbox,
  McpToolboxOptions,
  OpenAIFunctionTool,
  ToolCallOptions,
  ToolCallResult,
  ToolErrorKind,
  ToolboxTool,
} from './toolbox.js';
export type { McpHttpServerConfig, McpServerConfig, McpServersConfig, McpStdioServerConfig } from '@ensemble/protocol';
