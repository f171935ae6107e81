import { z } from 'zod';

import { ReasoningEvent } from './reasoning-event.js';
import { TokenUsage } from './token-usage.js';

/**
 * How a turn of a workflow ended (or that it started). `paused`: waiting for a human decision (the
 * task is auth-required). `rejected`: the user declined an approval the workflow needed. An interrupted
 * run (shutdown, lost lease) writes nothing: another orchestrator resumes the turn and ends it.
 */
export const WorkflowTurnState = z.enum(['started', 'completed', 'failed', 'rejected', 'paused', 'cancelled']);
export type WorkflowTurnState = z.infer<typeof WorkflowTurnState>;

/**
 * One record of a session's event log (`@ensemble/workflow`): everything a client of the workflow sees,
 * written once by the orchestrator that runs it. Its position in the log is its only number (the
 * `sequence` of a progress event, the SSE `id:` of the chunk a client gets); any process reads it from
 * any position, so a client re-attaches on any gateway while any orchestrator runs the workflow.
 */
export const WorkflowEvent = z.discriminatedUnion('kind', [
  /** Progress: plan, node started / completed / failed / retrying / skipped, approvals, synthesis. */
  z.object({ kind: z.literal('progress'), at: z.string(), event: ReasoningEvent }),
  /** A piece of the final answer (synthesis tokens are events too: a re-attach gets the rest, not a restart). */
  z.object({ kind: z.literal('answer'), at: z.string(), text: z.string() }),
  /** Tokens spent by one LLM call of the workflow; their sum over the turn is the request's `usage`. */
  z.object({ kind: z.literal('usage'), at: z.string(), usage: TokenUsage }),
  /** A turn started or ended; an ending carries what the client is told (answer text is in `answer` events). */
  z.object({
    kind: z.literal('turn'),
    at: z.string(),
    state: WorkflowTurnState,
    /** Why it failed, was rejected or cancelled; what it asks when paused. */
    message: z.string().optional(),
    /** A machine-readable code (`approval_rejected`, `node_failed`, ...). */
    code: z.string().optional(),
    /** Structured detail: the paused nodes and their questions, the rejected nodes. */
    details: z.record(z.string(), z.unknown()).optional(),
  }),
]);
export type WorkflowEvent = z.infer<typeof WorkflowEvent>;
