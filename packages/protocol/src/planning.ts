import { z } from 'zod';

import { ExecutionPlan, NodeId, NodeStatus, PlanRevision } from './dag.js';

/**
 * The planning agent's A2A contract: how a caller (the orchestrator) asks for a plan or a revision, and
 * what comes back. The planner is found through discovery by `PLANNING_SKILL_ID`, never by URL.
 *
 * Request: a message whose text is the user's request, optionally with a data part
 * `PlanningRequestData` (`{ planningRequest: {...} }`) carrying the conversation and, for dynamic
 * re-planning, the current plan and the results so far. Response: a completed task with a data artifact
 * named `PLAN_ARTIFACT_NAME` holding a `PlanningResult`, plus a short text artifact summarising it.
 */

/** Skill id the planning agent's card declares; the orchestrator resolves the planner by it. */
export const PLANNING_SKILL_ID = 'workflow-planning';
/** Name of the data artifact carrying the `PlanningResult`. */
export const PLAN_ARTIFACT_NAME = 'execution-plan';

/**
 * Section headers of the planner's prompt. Each is followed (on the next line) by one JSON value. They
 * are a contract with sim-llm's `execution-plan` behaviour, which reads the catalog and the replan
 * context back out of the prompt to answer deterministically offline.
 */
export const PLANNER_PROMPT_SECTIONS = {
  /** JSON array of `{ name, description, skills: [{ id, name, description, tags, examples }] }`. */
  catalog: 'Available agents (JSON):',
  /** JSON `ExecutionPlan` being revised (replan only). */
  currentPlan: 'Current plan (JSON):',
  /** JSON object `{ [nodeId]: { status, output } }` (replan only). */
  results: 'Results so far (JSON):',
  /** One line of text: why the caller asks for a revision (replan only). */
  reason: 'Reason for revising:',
} as const;

export const PlanningConversationTurn = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type PlanningConversationTurn = z.infer<typeof PlanningConversationTurn>;

/** What the caller knows about one node of the plan being revised. `output` may be truncated. */
export const PlanningNodeOutcome = z.object({
  status: NodeStatus,
  output: z.string().nullable().default(null),
});
export type PlanningNodeOutcome = z.infer<typeof PlanningNodeOutcome>;

/**
 * Asks for a revision of the remaining plan. Every node whose status is not `pending` (it ran, runs, or
 * was skipped) is frozen: the revised plan keeps it, same id and same definition. Pending nodes may be
 * dropped (they become `skipNodes` of the returned revision), changed, or joined by new nodes.
 */
export const ReplanRequest = z
  .object({
    plan: ExecutionPlan,
    /** Per node id; nodes not listed are pending. */
    results: z.record(NodeId, PlanningNodeOutcome),
    reason: z.string().min(1),
  })
  .superRefine((replan, ctx) => {
    const ids = new Set(replan.plan.nodes.map((node) => node.id));
    for (const id of Object.keys(replan.results)) {
      if (!ids.has(id)) ctx.addIssue({ code: 'custom', path: ['results', id], message: `Result for "${id}", which is not a node of the plan` });
    }
  });
export type ReplanRequest = z.infer<typeof ReplanRequest>;

export const PlanningRequest = z.object({
  /** The user's request (overrides the message text when both are given). */
  request: z.string().trim().min(1),
  /** Earlier turns, for context only (the request is planned, not the conversation). */
  conversation: z.array(PlanningConversationTurn).optional(),
  replan: ReplanRequest.optional(),
});
export type PlanningRequest = z.infer<typeof PlanningRequest>;

/** The data part of a planning message. */
export const PlanningRequestData = z.object({ planningRequest: PlanningRequest });
export type PlanningRequestData = z.infer<typeof PlanningRequestData>;

/** The data artifact of a completed planning task. */
export const PlanningResult = z.object({
  /** The full plan (for a replan: the revised plan, frozen nodes included). Validated against the catalog. */
  plan: ExecutionPlan,
  /** For a replan: the change from the current plan, ready for the engine's `revise`; `null` otherwise. */
  revision: PlanRevision.nullable(),
  /** LLM calls it took (1 when the first plan was valid). */
  attempts: z.int().positive(),
});
export type PlanningResult = z.infer<typeof PlanningResult>;
