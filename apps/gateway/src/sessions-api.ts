import type { ApprovalStore } from '@ensemble/approvals';
import {
  type ApprovalRecord,
  EnsembleError,
  ErrorCode,
  type Session,
  SessionApprovalView,
  type SessionCancelResult,
  type SessionRecord,
  type SessionView,
  type WorkflowEvent,
  toApprovalView,
} from '@ensemble/protocol';
import { SSE_HEADERS, SSE_KEEP_ALIVE, type ServiceEnv, sseFrame } from '@ensemble/service';
import type { SessionStore } from '@ensemble/sessions';
import type { EventLog, LoggedEvent } from '@ensemble/workflow';
import type { Hono } from 'hono';
import { z } from 'zod';

import { parseLastEventId } from './last-event-id.js';

/** What the sessions routes need: reads from the shared session store, cancels through the orchestrator. */
export interface SessionsApiDeps {
  /**
   * Read-only use: `get` and `list`, always with the caller's principal as owner, so another caller's
   * session is a 404 exactly like a missing one. The gateway never writes sessions; the orchestrator does.
   */
  store: Pick<SessionStore, 'get' | 'list'>;
  cancel(sessionId: string, principal: string): Promise<SessionCancelResult>;
  /** The sessions' event logs, for `GET /v1/sessions/{id}/events`; without it that route is a 404. */
  events?: EventLog<WorkflowEvent>;
  /** Longest quiet gap of an events stream before a keep-alive comment. Default 15 s. */
  keepAliveMs?: number;
  /** The approvals of a session, shown by `GET /v1/sessions/{id}` (its decision history); none without it. */
  approvals?: Pick<ApprovalStore, 'list'>;
}

/** Most approvals a session view lists (a workflow pauses once per node that asks). */
const SESSION_APPROVALS_LIMIT = 100;

const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) });
const EventsQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
});
const DEFAULT_KEEP_ALIVE_MS = 15_000;

/** A log record as the API shows it: its position, then the record. */
function eventView(logged: LoggedEvent<WorkflowEvent>): Record<string, unknown> {
  return { position: logged.position, ...logged.event };
}

/**
 * `GET /v1/sessions` (the caller's own, newest first), `GET /v1/sessions/{id}` (plan and per-node
 * progress) and `DELETE /v1/sessions/{id}` (cancels the workflow and its agents' tasks). Reads go
 * straight to Redis: they stay fast and available while the orchestrator is busy or restarting.
 */
export function mountSessionsApi(app: Hono<ServiceEnv>, deps: SessionsApiDeps): void {
  app.get('/v1/sessions', async (c) => {
    const query = ListQuery.safeParse({ limit: c.req.query('limit') ?? undefined });
    if (!query.success) {
      throw new EnsembleError(ErrorCode.InvalidRequest, 'limit must be an integer from 1 to 100', { details: { param: 'limit' } });
    }
    const records = await deps.store.list(c.var.principal, { limit: query.data.limit });
    return c.json({ object: 'list', data: records.map((record) => toSessionView(record)) });
  });

  app.get('/v1/sessions/:id', async (c) => {
    const session = await deps.store.get(c.req.param('id'), c.var.principal);
    const approvals = deps.approvals === undefined ? [] : (await deps.approvals.list(c.var.principal, { sessionId: session.id, limit: SESSION_APPROVALS_LIMIT })).data;
    return c.json(toSessionView(session, approvals));
  });

  const events = deps.events;
  if (events !== undefined) {
    /**
     * The session's event log, from a position: JSON pages, or (`Accept: text/event-stream`) a live SSE
     * tail whose ids are the positions, resumable with `Last-Event-ID`. Owner-scoped like the session: a
     * finished session's log stays readable by its owner while its tombstone lasts.
     */
    app.get('/v1/sessions/:id/events', async (c) => {
      const sessionId = c.req.param('id');
      const query = EventsQuery.safeParse({ after: c.req.query('after') ?? undefined, limit: c.req.query('limit') ?? undefined });
      if (!query.success) {
        const param = String(query.error.issues[0]?.path[0] ?? 'after');
        throw new EnsembleError(ErrorCode.InvalidRequest, `${param} must be ${param === 'limit' ? 'an integer from 1 to 1000' : 'a non-negative integer'}`, { details: { param } });
      }
      await assertOwnsSession(deps.store, sessionId, c.var.principal);
      const after = parseLastEventId(c.req.header('last-event-id')) ?? query.data.after ?? 0;
      if (!(c.req.header('accept') ?? '').includes('text/event-stream')) {
        const read = await events.read(sessionId, { after, limit: query.data.limit });
        return c.json({ object: 'list', data: read.events.map(eventView), head: await events.head(sessionId), truncated: read.truncated });
      }
      return new Response(eventStream(events, sessionId, after, deps.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS, c.req.raw.signal), { status: 200, headers: SSE_HEADERS });
    });
  }

  app.delete('/v1/sessions/:id', async (c) => {
    const result = await deps.cancel(c.req.param('id'), c.var.principal);
    return c.json(result);
  });
}

/** Another principal's session, or an unknown one, is a 404; a finished one stays its owner's. */
async function assertOwnsSession(store: Pick<SessionStore, 'get'>, sessionId: string, principal: string): Promise<void> {
  try {
    await store.get(sessionId, principal);
  } catch (error) {
    if (EnsembleError.is(error, ErrorCode.NotFound) && error.wireCode === 'session_finished') return;
    throw error;
  }
}

/**
 * The live tail of a session's log as SSE: `id:` is the position, `event:` the record's kind. Pull-driven
 * (read only as fast as the client takes it); a keep-alive comment after each quiet `keepAliveMs`. A
 * gap (events trimmed away before the reader got them) is said once, as an `event: truncated` frame.
 */
function eventStream(events: EventLog<WorkflowEvent>, sessionId: string, after: number, keepAliveMs: number, signal: AbortSignal): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor = after;
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        let read;
        try {
          read = await events.read(sessionId, { after: cursor, waitMs: keepAliveMs, signal });
        } catch {
          controller.enqueue(encoder.encode(sseFrame({ event: 'error', data: { error: { message: 'The session’s events could not be read; reconnect to resume', type: 'server_error', code: 'unavailable' } } })));
          controller.close();
          return;
        }
        if (signal.aborted) {
          controller.close();
          return;
        }
        let frames = '';
        const first = read.events[0];
        if (read.truncated && first !== undefined) frames += sseFrame({ event: 'truncated', data: { after: cursor, next: first.position } });
        for (const logged of read.events) {
          frames += sseFrame({ id: logged.position, event: logged.event.kind, data: eventView(logged) });
          cursor = logged.position;
        }
        controller.enqueue(encoder.encode(frames === '' ? SSE_KEEP_ALIVE : frames));
      },
    },
    { highWaterMark: 0 },
  );
}

/** The public view: snake_case, without the owner, the stored conversation or agent task ids. */
export function toSessionView(session: Session | SessionRecord, approvals: readonly ApprovalRecord[] = []): SessionView {
  const nodes = 'nodes' in session ? session.nodes : {};
  return {
    object: 'session',
    id: session.id,
    status: session.status,
    created_at: session.createdAt,
    updated_at: session.updatedAt,
    model: session.request.model,
    plan:
      session.dag === null
        ? null
        : {
            goal: session.dag.goal,
            rationale: session.dag.rationale,
            nodes: session.dag.nodes.map((node) => ({ id: node.id, agent: node.agent, skill: node.skill, description: node.description, depends_on: node.dependsOn })),
          },
    current_nodes: session.currentNodes,
    nodes: Object.fromEntries(
      Object.entries(nodes).map(([id, node]) => [
        id,
        {
          status: node.status,
          agent: node.agent,
          attempts: node.attempts,
          started_at: node.startedAt,
          finished_at: node.finishedAt,
          output: node.output,
          error: node.error,
          skip_reason: node.skipReason,
        },
      ]),
    ),
    approval: approvalView(session.approvalContext),
    approvals: approvals.map(toApprovalView),
    error: session.errorType === null && session.errorMessage === null ? null : { type: session.errorType, message: session.errorMessage },
  };
}

/**
 * The stored approval context reduced to what a client may see: each paused node, its agent and its
 * question. Anything else the orchestrator keeps there (agent task ids) stays internal.
 */
function approvalView(context: Session['approvalContext']): SessionView['approval'] {
  if (context === null) return null;
  const parsed = SessionApprovalView.safeParse(context);
  if (!parsed.success) return { nodes: [] };
  return { nodes: parsed.data.nodes.map(({ node, agent, question }) => ({ node, agent, question })) };
}
