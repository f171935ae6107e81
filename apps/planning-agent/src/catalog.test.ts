import type { AgentSkillCatalogEntry } from '@ensemble/a2a/client';
import { describe, expect, it } from 'vitest';

import { buildPlannerCatalog, isCoordinationSkill } from './catalog.js';

function entry(agent: string, skills: { id: string; tags?: string[] }[], available = true, url = `http://${agent}.test`): AgentSkillCatalogEntry {
  return {
    agent,
    url,
    endpoint: `${url}/a2a/jsonrpc`,
    description: `${agent} does things`,
    available,
    status: available ? 'available' : 'unavailable',
    streaming: true,
    skills: skills.map((skill) => ({ id: skill.id, name: skill.id, description: `${skill.id} skill`, tags: skill.tags ?? [], examples: [`use ${skill.id}`] })),
  };
}

describe('buildPlannerCatalog', () => {
  it('leaves out the planner and the orchestrator, but keeps a worker that merely tags "planning"', () => {
    const catalog = buildPlannerCatalog([
      entry('planning-agent', [{ id: 'workflow-planning', tags: ['planning', 'workflow-planning'] }]),
      entry('orchestrator', [{ id: 'orchestrate', tags: ['orchestration', 'planning'] }]),
      entry('reasoning-agent', [{ id: 'reasoning', tags: ['reasoning', 'planning'] }]),
      entry('search-agent', [{ id: 'web-search', tags: ['search'] }]),
    ]);
    expect(catalog.agents.map((agent) => agent.name)).toEqual(['reasoning-agent', 'search-agent']);
    expect(catalog.excluded).toEqual(['planning-agent', 'orchestrator']);
    expect(catalog.agents[0]).toEqual({
      name: 'reasoning-agent',
      description: 'reasoning-agent does things',
      skills: [{ id: 'reasoning', name: 'reasoning', description: 'reasoning skill', tags: ['reasoning', 'planning'], examples: ['use reasoning'] }],
    });
  });

  it('drops coordination skills from an agent that also has real ones', () => {
    const catalog = buildPlannerCatalog([entry('hybrid', [{ id: 'workflow-planning' }, { id: 'summarize', tags: ['writing'] }])]);
    expect(catalog.agents[0]?.skills.map((skill) => skill.id)).toEqual(['summarize']);
    expect(catalog.validation.agents).toEqual([{ name: 'hybrid', skills: ['summarize'], available: true }]);
  });

  it('keeps unavailable agents out of the prompt but in the validation catalog, marked', () => {
    const catalog = buildPlannerCatalog([entry('up', [{ id: 'a' }]), entry('down', [{ id: 'b' }], false)]);
    expect(catalog.agents.map((agent) => agent.name)).toEqual(['up']);
    expect(catalog.validation.agents).toEqual([
      { name: 'up', skills: ['a'], available: true },
      { name: 'down', skills: ['b'], available: false },
    ]);
  });

  it('merges replicas of one agent: available when any replica is', () => {
    const catalog = buildPlannerCatalog([entry('rag', [{ id: 'r' }], false, 'http://a.test'), entry('rag', [{ id: 'r' }], true, 'http://b.test')]);
    expect(catalog.agents.map((agent) => agent.name)).toEqual(['rag']);
    expect(catalog.validation.agents).toEqual([{ name: 'rag', skills: ['r'], available: true }]);
  });

  it('isCoordinationSkill', () => {
    expect(isCoordinationSkill({ id: 'workflow-planning', tags: [] })).toBe(true);
    expect(isCoordinationSkill({ id: 'x', tags: ['Orchestration'] })).toBe(true);
    expect(isCoordinationSkill({ id: 'trip-planning', tags: ['planning'] })).toBe(false);
  });
});
