import type { AgentRegistry } from '@ensemble/a2a/client';
import type { AgentInput, AgentRun } from '@ensemble/a2a/server';
import { EnsembleError, ErrorCode, type ExecutionPlan, PLAN_ARTIFACT_NAME, type PlanningRequest, PlanningRequestData, type PlanningResult } from '@ensemble/protocol';

import { buildPlannerCatalog } from './catalog.js';
import { type LlmClient, type PlannerSettings, planWorkflow } from './planner.js';

export interface PlanningAgentDeps {
  llm: LlmClient;
  settings: PlannerSettings;
  /** Where the catalog comes from; refreshed before every plan so agents that came up since are seen. */
  registry: Pick<AgentRegistry, 'refresh' | 'skills'>;
}

/**
 * The planning agent's A2A run: read the request (text, or a `planningRequest` data part), discover the
 * agents, plan with re-asks, and answer with the plan as a data artifact (`PLAN_ARTIFACT_NAME`, a
 * `PlanningResult`) plus a short text summary. Progress goes out as status updates.
 */
export function createPlanningRun(deps: PlanningAgentDeps): AgentRun {
  return async (input, ctx) => {
    const request = readPlanningRequest(input);
    ctx.status('Discovering agents');
    await deps.registry.refresh();
    const catalog = buildPlannerCatalog(deps.registry.skills());
    const names = catalog.agents.map((agent) => agent.name);
    if (names.length > 0) ctx.status(`Planning with ${names.length} available agent${names.length === 1 ? '' : 's'}: ${names.join(', ')}`, { agents: names });

    const result = await planWorkflow(deps.llm, deps.settings, {
      request: request.request,
      conversation: request.conversation,
      replan: request.replan,
      catalog,
      signal: ctx.signal,
      logger: ctx.logger,
      onUsage: (usage) => ctx.reportUsage(usage),
      onAttempt: ({ attempt, maxAttempts, problems }) => {
        if (attempt === 1) ctx.status(request.replan === undefined ? 'Planning' : 'Revising the plan', { attempt, maxAttempts });
        else ctx.status(`Planning attempt ${attempt} of ${maxAttempts}: fixing ${problems.length} problem${problems.length === 1 ? '' : 's'} (${shorten(problems[0] ?? '', 160)})`, { attempt, maxAttempts, problems: [...problems] });
      },
    });
    ctx.logger.info({ nodes: result.plan.nodes.length, attempts: result.attempts, replan: result.revision !== null }, 'plan ready');
    ctx.dataArtifact(result, { name: PLAN_ARTIFACT_NAME });
    return summarizePlan(result);
  };
}

/**
 * The request to plan: the `planningRequest` data part when there is one (validated; its `request` wins
 * over the message text), else the message text. Throws `invalid_request` naming what is wrong.
 */
export function readPlanningRequest(input: Pick<AgentInput, 'text' | 'data'>): PlanningRequest {
  const carrier = input.data.find((data) => 'planningRequest' in data);
  if (carrier !== undefined) {
    const parsed = PlanningRequestData.safeParse(carrier);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`);
      throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid planningRequest data part: ${problems.join('; ')}`, { wireCode: 'invalid_planning_request' });
    }
    return parsed.data.planningRequest;
  }
  const text = input.text.trim();
  if (text === '') {
    throw new EnsembleError(ErrorCode.InvalidRequest, 'Nothing to plan: send the request as the message text, or as a data part {"planningRequest": {"request": "..."}}', {
      wireCode: 'invalid_planning_request',
    });
  }
  return { request: text };
}

/**
 * A few lines for people: the goal, the stages (nodes that run at the same time share a stage), each
 * node with its agent, and for a revision what changed.
 */
export function summarizePlan(result: PlanningResult): string {
  const { plan, revision } = result;
  const stages = planStages(plan);
  const lines = [`Plan: ${plan.goal}`, `${plan.nodes.length} step${plan.nodes.length === 1 ? '' : 's'} in ${stages.length} stage${stages.length === 1 ? '' : 's'}: ${stages.map((stage) => (stage.length === 1 ? stage[0] : `[${stage.join(' | ')}]`)).join(' → ')}`];
  for (const node of plan.nodes) {
    const who = [node.agent, node.skill].filter((part): part is string => part !== null).join(' / ');
    const after = node.dependsOn.length === 0 ? '' : ` (after ${node.dependsOn.join(', ')})`;
    lines.push(`- ${node.id} → ${who}${after}: ${node.description}`);
  }
  if (revision !== null) {
    const list = (ids: readonly string[]) => (ids.length === 0 ? 'none' : ids.join(', '));
    lines.push(`Revision (${revision.reason}): added ${list(revision.addNodes.map((node) => node.id))}; changed ${list(revision.updateNodes.map((node) => node.id))}; skipped ${list(revision.skipNodes)}`);
  }
  if (result.attempts > 1) lines.push(`(valid on attempt ${result.attempts})`);
  return lines.join('\n');
}

/** Node ids grouped by depth: a stage's nodes depend only on earlier stages, so they can run together. */
export function planStages(plan: ExecutionPlan): string[][] {
  const byId = new Map(plan.nodes.map((node) => [node.id, node]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0; // Validated plans have no cycles; this only guards against misuse.
    seen.add(id);
    const node = byId.get(id);
    const value = node === undefined || node.dependsOn.length === 0 ? 0 : 1 + Math.max(...node.dependsOn.map((dependency) => depthOf(dependency, seen)));
    depth.set(id, value);
    return value;
  };
  const stages: string[][] = [];
  for (const node of plan.nodes) (stages[depthOf(node.id, new Set())] ??= []).push(node.id);
  return stages.filter((stage) => stage.length > 0);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
