import { z } from 'zod';

import { ExecutionPlan, NodeError, NodeResult } from './dag.js';
import { ChatMessage } from './openai.js';

/**
 * Durable workflow sessions (see `@ensemble/sessions`). A session is workflow-scoped, not a conversation:
 * it holds the DAG, per-node results, and what a paused node waits for. Only `active` and
 * `waiting_approval` sessions are stored; a finished session is deleted and leaves a short-lived
 * tombstone so a client asking afterwards learns how it ended (404 `session_finished`).
 */
export const SessionStatus = z.enum(['active', 'waiting_approval', 'completed', 'failed', 'cancelled']);
export type SessionStatus = z.infer<typeof SessionStatus>;

/** The statuses a session ends with; reaching one deletes the session. */
export const FinalSessionStatus = z.enum(['completed', 'failed', 'cancelled']);
export type FinalSessionStatus = z.infer<typeof FinalSessionStatus>;

/** The original request, kept so a session can be resumed with only its id. */
export const SessionRequest = z.object({
  messages: z.array(ChatMessage).min(1),
  model: z.string().nullable(),
});
export type SessionRequest = z.infer<typeof SessionRequest>;

/** The session's own record (JSON at `session:{id}`); node results are stored beside it, one per node. */
export const SessionRecord = z.object({
  id: z.uuid(),
  /** Caller identity (the gateway's principal); another caller sees this session as missing. */
  owner: z.string().min(1),
  status: SessionStatus,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  request: SessionRequest,
  dag: ExecutionPlan.nullable(),
  /** Nodes running right now (informational; the node results are the source of truth). */
  currentNodes: z.array(z.string()),
  /** What needs approval while `status` is `waiting_approval`. */
  approvalContext: z.record(z.string(), z.unknown()).nullable(),
  errorType: z.string().nullable(),
  errorMessage: z.string().nullable(),
});
export type SessionRecord = z.infer<typeof SessionRecord>;

/** A session as read: the record plus every node result written so far. */
export const Session = SessionRecord.extend({
  nodes: z.record(z.string(), NodeResult),
});
export type Session = z.infer<typeof Session>;

/** Fields a caller may change; `id`, `owner`, `createdAt` and `request` are fixed at creation. */
export const SessionPatch = SessionRecord.pick({
  status: true,
  dag: true,
  currentNodes: true,
  approvalContext: true,
  errorType: true,
  errorMessage: true,
}).partial();
export type SessionPatch = z.infer<typeof SessionPatch>;

/** What remains of a finished session for a while after it is deleted. */
export const SessionTombstone = z.object({
  id: z.uuid(),
  owner: z.string(),
  status: FinalSessionStatus,
  finishedAt: z.iso.datetime(),
  errorType: z.string().nullable(),
  errorMessage: z.string().nullable(),
});
export type SessionTombstone = z.infer<typeof SessionTombstone>;

/**
 * A finished workflow's answer (JSON at `orchestrator:result:{id}`, see `ResultStore` in
 * `@ensemble/workflow/runtime`), kept for a short retention after the session itself is deleted: how a
 * client gets the result of a workflow that finished while nobody was listening.
 */
export const FinishedWorkflow = z.object({
  sessionId: z.uuid(),
  owner: z.string().min(1),
  status: FinalSessionStatus,
  answer: z.string().nullable(),
  error: NodeError.nullable(),
  finishedAt: z.iso.datetime(),
});
export type FinishedWorkflow = z.infer<typeof FinishedWorkflow>;
