import type { AgentSkillCatalogEntry } from '@ensemble/a2a/client';

import { PRESETS } from '../../../mock-agents/src/presets.js';

/** Test fixture: the mock-agent presets as the discovery registry would list them (all available). */
export const PRESET_CATALOG_ENTRIES: AgentSkillCatalogEntry[] = Object.values(PRESETS).map((preset) => ({
  agent: preset.name,
  url: `http://${preset.name}.test`,
  endpoint: `http://${preset.name}.test/a2a/jsonrpc`,
  description: preset.description,
  available: true,
  status: 'available',
  streaming: true,
  skills: preset.skills.map((skill) => ({ id: skill.id, name: skill.name, description: skill.description ?? '', tags: skill.tags ?? [], examples: skill.examples ?? [] })),
}));
