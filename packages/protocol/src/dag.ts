import { z } from 'zod';

/**
 * Execution plans (DAGs) as the planning agent's LLM writes them, and the per-node runtime records the
 * engine (`@ensemble/dag`) produces.
 *
 * The plan schemas are sent to the LLM as an OpenAI structured-output JSON schema in strict mode, which
 * shapes them: every field is required (optional values are `T | null`), no unions other than `| null`,
 * no `minLength`/`maxLength` (strict mode rejects them; lengths are checked by `validatePlan`), and no
 * free-form code: inputs are templates, conditions a fixed set of operators.
 * Structural checks that need the whole plan (cycles, dangling references, the agent catalog, size
 * limits) live in `validatePlan` in `@ensemble/dag`, which collects every problem at once.
 */

/** Name of the JSON schema the planner sends as `response_format.json_schema.name`. */
export const EXECUTION_PLAN_SCHEMA_NAME = 'execution_plan';
/** Name of the JSON schema for a re-planning LLM call. */
export const PLAN_REVISION_SCHEMA_NAME = 'plan_revision';

/** Node ids are slugs so they are safe inside `{{nodes.<id>.output}}`, keys, logs and span names. */
export const NODE_ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';
export const NodeId = z.string().regex(new RegExp(NODE_ID_PATTERN), 'Node ids are slugs: lowercase letters, digits, "-" and "_", 1-64 characters, starting with a letter or digit');
export type NodeId = z.infer<typeof NodeId>;

export const ConditionOperator = z.enum(['contains', 'not_contains', 'equals', 'not_equals', 'matches', 'succeeded', 'failed']);
export type ConditionOperator = z.infer<typeof ConditionOperator>;

/**
 * Runs the node only when an upstream node's result passes a test. `node` must be a (transitive)
 * dependency. Text operators compare that node's output (`matches` is a JavaScript regular expression);
 * `succeeded` / `failed` test its status and ignore `value`. A condition on a node that did not run
 * (skipped) is false.
 */
export const NodeCondition = z.object({
  node: NodeId,
  operator: ConditionOperator,
  value: z.string().nullable(),
});
export type NodeCondition = z.infer<typeof NodeCondition>;

export const RetryPolicy = z.object({
  /** Attempts with the node's own agent, the first included. */
  maxAttempts: z.int().min(1).max(10),
  /** Delay before the second attempt; doubles for each further attempt. */
  backoffMs: z.int().min(0).max(60_000),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;

const PlanNodeShape = z.object({
  id: NodeId,
  /** Agent to call by name, or null to let the orchestrator pick one that offers `skill`. */
  agent: z.string().nullable(),
  /** Skill id (from the agents' cards) the node needs, or null when `agent` alone decides. */
  skill: z.string().nullable(),
  /** Template: `{{request}}` is the user's request text, `{{nodes.<id>.output}}` an upstream node's output. */
  input: z.string(),
  /** Ids of nodes that must finish first. Every node referenced in `input` or `condition` must be one (transitively). */
  dependsOn: z.array(NodeId),
  condition: NodeCondition.nullable(),
  retry: RetryPolicy,
  /** Per attempt. */
  timeoutMs: z.int().min(1_000).max(3_600_000),
  /** Agent tried (with the same retry policy) once the node's own attempts are exhausted. */
  fallbackAgent: z.string().nullable(),
  /** One line for humans: what this step does and why. */
  description: z.string(),
  /**
   * True when the answer is worthless without this node: its failure (or its being unable to run) fails
   * the workflow whatever the orchestrator's failure policy. Absent or null means false. Optional on the
   * wire (added later); nullable so the strict structured-output schema can carry it.
   */
  required: z.boolean().nullable().optional(),
});

/** At least one of `agent` and `skill`: a zod refinement, since strict JSON schema cannot say it. */
export const PlanNode = PlanNodeShape.refine((node) => node.agent !== null || node.skill !== null, {
  message: 'A node needs an agent, a skill, or both',
  path: ['agent'],
});
export type PlanNode = z.infer<typeof PlanNode>;

export const ExecutionPlan = z.object({
  /** The user's goal in one sentence. */
  goal: z.string(),
  /** Why the plan is shaped this way (which parts are independent and run in parallel). */
  rationale: z.string(),
  nodes: z.array(PlanNode).min(1),
});
export type ExecutionPlan = z.infer<typeof ExecutionPlan>;

/**
 * A change to the not-yet-started part of a running plan. Only nodes that are still pending can be
 * skipped or updated; added nodes may depend on any node. The engine re-validates the revised plan and
 * rejects the whole revision if anything is wrong.
 */
export const PlanRevision = z.object({
  reason: z.string(),
  skipNodes: z.array(NodeId),
  addNodes: z.array(PlanNode),
  /** Replacements for pending nodes, matched by `id`. */
  updateNodes: z.array(PlanNode),
});
export type PlanRevision = z.infer<typeof PlanRevision>;

export const NodeStatus = z.enum(['pending', 'running', 'completed', 'failed', 'skipped', 'waiting_approval', 'cancelled']);
export type NodeStatus = z.infer<typeof NodeStatus>;

/** `code` is an `ErrorCode` for local failures, or `dependency_failed` / `approval_rejected` from the engine. */
export const NodeError = z.object({
  code: z.string(),
  message: z.string(),
});
export type NodeError = z.infer<typeof NodeError>;

/** The runtime record of one node: what the engine persists after every state change. */
export const NodeResult = z.object({
  status: NodeStatus,
  output: z.string().nullable(),
  error: NodeError.nullable(),
  /** Attempts made so far, fallback attempts included; 0 for a node that never ran. */
  attempts: z.int().nonnegative(),
  /** The agent that actually ran (or is running) the node: its own agent or the fallback. */
  agent: z.string().nullable(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  /** The agent's A2A task id, so a resumed node can continue the same task. */
  taskId: z.string().nullable(),
  /** What needs approval, when `status` is `waiting_approval`. */
  approvalContext: z.record(z.string(), z.unknown()).nullable(),
  /** Why a node was skipped (false condition, all dependencies skipped, revision). */
  skipReason: z.string().nullable(),
});
export type NodeResult = z.infer<typeof NodeResult>;

/** A human's answer to a node waiting for approval, passed to the node's runner on resume. */
export const ApprovalDecision = z.object({
  approved: z.boolean(),
  comment: z.string().nullable(),
  /** Caller identity that decided. */
  decidedBy: z.string().nullable(),
  /** The arguments the agent is to run with (edited by the person who approved), when it asked with some. */
  arguments: z.record(z.string(), z.unknown()).optional(),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

export const WorkflowStatus = z.enum(['completed', 'failed', 'paused', 'cancelled']);
export type WorkflowStatus = z.infer<typeof WorkflowStatus>;

const eventBase = {
  /** Strictly increasing within a run (and across resumes when the caller passes `startSequence`). */
  sequence: z.int().nonnegative(),
  at: z.iso.datetime(),
};
const nodeEventBase = { ...eventBase, node: NodeId };

/** Progress events the engine emits, in order. The orchestrator maps them to `ReasoningEvent`s. */
export const DagEvent = z.discriminatedUnion('type', [
  z.object({ ...eventBase, type: z.literal('workflow_started'), nodes: z.int().nonnegative(), resumed: z.boolean() }),
  z.object({ ...nodeEventBase, type: z.literal('node_started'), agent: z.string().nullable(), attempt: z.int().positive(), input: z.string() }),
  z.object({ ...nodeEventBase, type: z.literal('node_retrying'), agent: z.string().nullable(), attempt: z.int().positive(), delayMs: z.int().nonnegative(), error: NodeError }),
  z.object({ ...nodeEventBase, type: z.literal('node_fallback'), from: z.string().nullable(), to: z.string(), error: NodeError }),
  z.object({ ...nodeEventBase, type: z.literal('node_completed'), agent: z.string().nullable(), output: z.string() }),
  z.object({ ...nodeEventBase, type: z.literal('node_failed'), agent: z.string().nullable(), error: NodeError }),
  z.object({ ...nodeEventBase, type: z.literal('node_skipped'), reason: z.string() }),
  z.object({ ...nodeEventBase, type: z.literal('node_waiting_approval'), agent: z.string().nullable(), context: z.record(z.string(), z.unknown()) }),
  z.object({ ...nodeEventBase, type: z.literal('node_cancelled'), agent: z.string().nullable() }),
  z.object({ ...eventBase, type: z.literal('replanned'), after: NodeId, revision: PlanRevision }),
  z.object({ ...eventBase, type: z.literal('revision_rejected'), after: NodeId, reason: z.string(), problems: z.array(z.string()) }),
  z.object({ ...eventBase, type: z.literal('workflow_completed'), failedNodes: z.array(NodeId) }),
  z.object({ ...eventBase, type: z.literal('workflow_failed'), failedNodes: z.array(NodeId) }),
  z.object({ ...eventBase, type: z.literal('workflow_paused'), waitingNodes: z.array(NodeId) }),
  z.object({ ...eventBase, type: z.literal('workflow_cancelled') }),
]);
export type DagEvent = z.infer<typeof DagEvent>;
export type DagEventType = DagEvent['type'];
