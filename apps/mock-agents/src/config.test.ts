import { loadConfig } from '@ensemble/config';
import { describe, expect, it } from 'vitest';

import { MockAgentsEnv, resolveBehaviour, resolvePort } from './config.js';
import { PRESET_NAMES } from './presets.js';

const noFiles = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};

describe('mock agent configuration', () => {
  it.each(PRESET_NAMES)('preset %s is valid and describes its skills well enough for a planner', (preset) => {
    const behaviour = resolveBehaviour(loadConfig(MockAgentsEnv, { MOCK_AGENT_PRESET: preset }), noFiles);
    // Only the operations agent asks before acting (it changes running systems).
    expect(behaviour.failure.mode).toBe(preset === 'operations' ? 'approval' : 'none');
    for (const skill of behaviour.skills) {
      expect(skill.description.length).toBeGreaterThan(80);
      expect(skill.examples.length).toBeGreaterThanOrEqual(2);
      expect(skill.tags.length).toBeGreaterThanOrEqual(3);
    }
  });

  it('gives each preset its own default port after the base port', () => {
    expect(PRESET_NAMES.map((preset) => resolvePort(loadConfig(MockAgentsEnv, { MOCK_AGENT_PRESET: preset })))).toEqual([8201, 8202, 8203, 8204, 8205]);
    expect(resolvePort(loadConfig(MockAgentsEnv, { MOCK_AGENT_PRESET: 'rag', MOCK_AGENT_PORT: '0' }))).toBe(0);
    expect(resolvePort(loadConfig(MockAgentsEnv, { MOCK_AGENT_PRESET: 'rag', MOCK_AGENTS_BASE_PORT: '9000' }))).toBe(9001);
  });

  it('layers preset, file and inline JSON, field by field', () => {
    const config = loadConfig(MockAgentsEnv, {
      MOCK_AGENT_PRESET: 'search',
      MOCK_AGENT_CONFIG_FILE: '/etc/mock.json',
      MOCK_AGENT_CONFIG: JSON.stringify({ failure: { mode: 'first-n', count: 2 } }),
    });
    const behaviour = resolveBehaviour(config, (path) => (path === '/etc/mock.json' ? JSON.stringify({ name: 'flaky-search', chunks: 5 }) : ''));
    expect(behaviour).toMatchObject({ name: 'flaky-search', chunks: 5, failure: { mode: 'first-n', count: 2, message: expect.any(String) as string } });
    expect(behaviour.skills[0]?.id).toBe('web-search');
  });

  it('refuses a parse pattern that is not a regular expression', () => {
    const config = loadConfig(MockAgentsEnv, { MOCK_AGENT_PRESET: 'operations', MOCK_AGENT_CONFIG: JSON.stringify({ parse: { pattern: '(?<open' } }) });
    expect(() => resolveBehaviour(config, noFiles)).toThrow(/parse\.pattern: must be a valid regular expression/);
  });

  it('names every bad field, and asks for a preset or config when there is none', () => {
    expect(() => resolveBehaviour(loadConfig(MockAgentsEnv, {}), noFiles)).toThrow(/Set MOCK_AGENT_PRESET/);
    expect(() => resolveBehaviour(loadConfig(MockAgentsEnv, { MOCK_AGENT_CONFIG: '{"name":"x"}' }), noFiles)).toThrow(/description[\s\S]*skills/);
    expect(() => resolveBehaviour(loadConfig(MockAgentsEnv, { MOCK_AGENT_PRESET: 'rag', MOCK_AGENT_CONFIG: '{"failure":{"mode":"explode"}}' }), noFiles)).toThrow(
      /failure/,
    );
    expect(() => resolveBehaviour(loadConfig(MockAgentsEnv, { MOCK_AGENT_CONFIG: '[1]' }), noFiles)).toThrow(/must be a JSON object/);
    expect(() => loadConfig(MockAgentsEnv, { MOCK_AGENT_PRESET: 'poetry' })).toThrow(/MOCK_AGENT_PRESET/);
  });
});
