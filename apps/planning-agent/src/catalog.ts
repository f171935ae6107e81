import type { AgentSkillCatalogEntry } from '@ensemble/a2a/client';
import type { AgentCatalog } from '@ensemble/dag';
import { PLANNING_SKILL_ID } from '@ensemble/protocol';

/** One skill as the planner's LLM sees it. */
export interface PlannerSkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
  examples: string[];
}

/** One agent as the planner's LLM sees it (the JSON after `Available agents (JSON):`). */
export interface PlannerAgent {
  name: string;
  description: string;
  skills: PlannerSkill[];
}

export interface PlannerCatalog {
  /** Agents the plan may use: available now, coordination skills removed. Goes into the prompt. */
  agents: PlannerAgent[];
  /**
   * What plans are validated against: the same agents plus the known but unavailable ones (marked so),
   * so a plan naming a down agent gets "currently unavailable" rather than "unknown" as feedback.
   */
  validation: AgentCatalog;
  /** Names of agents left out because they only coordinate (the planner itself, the orchestrator). */
  excluded: string[];
}

/**
 * Tags that mark a skill as coordination rather than work. A skill with the planner's own id, or tagged
 * `orchestration` / `workflow-planning`, is never a step of a plan: calling the planner or the orchestrator
 * from a plan would recurse.
 *
 * The bare tag `planning` is deliberately not enough: worker agents use it for the content they produce
 * (the reasoning agent plans trips and roadmaps) and must stay plannable. The planner's own card carries
 * `workflow-planning` as a tag too, so it is excluded either way.
 */
const COORDINATION_TAGS = new Set(['orchestration', 'workflow-planning']);

export function isCoordinationSkill(skill: { id: string; tags: readonly string[] }): boolean {
  return skill.id === PLANNING_SKILL_ID || skill.tags.some((tag) => COORDINATION_TAGS.has(tag.toLowerCase()));
}

/**
 * The planner's catalog from the registry's entries. Agents are merged by name (replicas of one agent
 * are one entry, available when any replica is), coordination skills are dropped, and agents left with
 * no skills are excluded. Order follows the registry (configuration order), so prompts are stable.
 */
export function buildPlannerCatalog(entries: readonly AgentSkillCatalogEntry[]): PlannerCatalog {
  const byName = new Map<string, { agent: PlannerAgent; available: boolean }>();
  const excluded = new Set<string>();
  for (const entry of entries) {
    const skills = entry.skills.filter((skill) => !isCoordinationSkill(skill));
    if (skills.length === 0) {
      excluded.add(entry.agent);
      continue;
    }
    const known = byName.get(entry.agent);
    if (known !== undefined) {
      known.available ||= entry.available;
      continue;
    }
    byName.set(entry.agent, {
      available: entry.available,
      agent: {
        name: entry.agent,
        description: entry.description,
        skills: skills.map((skill) => ({ id: skill.id, name: skill.name, description: skill.description, tags: [...skill.tags], examples: [...skill.examples] })),
      },
    });
  }
  const all = [...byName.values()];
  return {
    agents: all.filter((item) => item.available).map((item) => item.agent),
    validation: { agents: all.map((item) => ({ name: item.agent.name, skills: item.agent.skills.map((skill) => skill.id), available: item.available })) },
    excluded: [...excluded].filter((name) => !byName.has(name)),
  };
}
