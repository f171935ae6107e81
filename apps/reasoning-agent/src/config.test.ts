import { loadConfig } from '@ensemble/config';
import { describe, expect, it } from 'vitest';

import { ReasoningAgentConfig } from './config.js';

describe('ReasoningAgentConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig(ReasoningAgentConfig, {});
    expect(config).toMatchObject({
      REASONING_AGENT_HOST: '127.0.0.1',
      REASONING_AGENT_PORT: 8003,
      MCP_CONFIG_FILE: 'config/mcp-servers.json',
      REASONING_MCP_SERVERS: [],
      REASONING_MODEL: 'gpt-4o-mini',
      REASONING_MAX_STEPS: 8,
      REASONING_TASK_STORE: 'redis',
      REDIS_KEY_PREFIX: 'ensemble:',
    });
    expect(config.REASONING_TOOL_TIMEOUT_MS).toBeUndefined();
  });

  it('reads overrides and names every bad variable', () => {
    expect(loadConfig(ReasoningAgentConfig, { REASONING_MAX_STEPS: '3', REASONING_TOOL_TIMEOUT_MS: '5000', REASONING_MCP_SERVERS: 'a, b' })).toMatchObject({
      REASONING_MAX_STEPS: 3,
      REASONING_TOOL_TIMEOUT_MS: 5000,
      REASONING_MCP_SERVERS: ['a', 'b'],
    });
    expect(() => loadConfig(ReasoningAgentConfig, { REASONING_MAX_STEPS: '0', REASONING_TOOL_TIMEOUT_MS: 'soon' })).toThrow(/REASONING_MAX_STEPS[\s\S]*REASONING_TOOL_TIMEOUT_MS|REASONING_TOOL_TIMEOUT_MS[\s\S]*REASONING_MAX_STEPS/);
  });
});
