import { z } from 'zod';

import { Approval } from './approval.js';
import { NodeError, NodeStatus } from './dag.js';
import { SessionStatus } from './session.js';

/**
 * The gateway's public view of a workflow session (`GET /v1/sessions/{id}`, `GET /v1/sessions`). It is
 * snake_case like the rest of the OpenAI-style API and leaves out what only the services need (the
 * owner, the stored conversation, agent task ids): a client sees its plan, where each node stands and
 * why a session stopped, never another caller's identity.
 */

export const SessionPlanNodeView = z.object({
  id: z.string(),
  agent: z.string().nullable(),
  skill: z.string().nullable(),
  description: z.string(),
  depends_on: z.array(z.string()),
});
export type SessionPlanNodeView = z.infer<typeof SessionPlanNodeView>;

export const SessionNodeView = z.object({
  status: NodeStatus,
  /** The agent that ran (or runs) the node: its own, or the fallback. */
  agent: z.string().nullable(),
  attempts: z.int().nonnegative(),
  started_at: z.iso.datetime().nullable(),
  finished_at: z.iso.datetime().nullable(),
  /** The node's result text; omitted from listings. */
  output: z.string().nullable(),
  error: NodeError.nullable(),
  skip_reason: z.string().nullable(),
});
export type SessionNodeView = z.infer<typeof SessionNodeView>;

/** A paused workflow's pending decisions, as clients see them (agent task ids stay internal). */
export const SessionApprovalView = z.object({
  nodes: z.array(z.object({ node: z.string(), agent: z.string().nullable(), question: z.string() })),
});

export const SessionView = z.object({
  object: z.literal('session'),
  id: z.string(),
  status: SessionStatus,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  /** The model the client asked for, as sent. */
  model: z.string().nullable(),
  plan: z
    .object({ goal: z.string(), rationale: z.string(), nodes: z.array(SessionPlanNodeView) })
    .nullable(),
  /** Nodes running right now. */
  current_nodes: z.array(z.string()),
  /** Per-node progress; `{}` in listings (read one session for it). */
  nodes: z.record(z.string(), SessionNodeView),
  /** What the session waits for while `status` is `waiting_approval`: each paused node and its question. */
  approval: SessionApprovalView.nullable(),
  /**
   * The session's approvals, pending first then newest first: the decision history (who decided, when,
   * the comment, the arguments before and after an edit). `[]` in listings (read one session for it).
   */
  approvals: z.array(Approval),
  error: z.object({ type: z.string().nullable(), message: z.string().nullable() }).nullable(),
});
export type SessionView = z.infer<typeof SessionView>;

export type SessionApprovalView = z.infer<typeof SessionApprovalView>;

export const SessionList = z.object({
  object: z.literal('list'),
  data: z.array(SessionView),
});
export type SessionList = z.infer<typeof SessionList>;

/** `DELETE /v1/sessions/{id}`: the session is cancelled (or the cancel was relayed to its orchestrator). */
export const SessionCancelResult = z.object({
  object: z.literal('session.cancelled'),
  id: z.string(),
  cancelled: z.literal(true),
  /** The orchestrator's own words (e.g. that the cancel went to the instance running the session). */
  message: z.string(),
});
export type SessionCancelResult = z.infer<typeof SessionCancelResult>;
