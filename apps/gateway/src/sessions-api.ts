import { EnsembleError, ErrorCode, type Session, SessionApprovalView, type SessionCancelResult, type SessionRecord, type SessionView } from '@ensemble/protocol';
import type { ServiceEnv } from '@ensemble/service';
import type { SessionStore } from '@ensemble/sessions';
import type { Hono } from 'hono';
import { z } from 'zod';

/** What the sessions routes need: reads from the shared session store, cancels through the orchestrator. */
export interface SessionsApiDeps {
  /**
   * Read-only use: `get` and `list`, always with the caller's principal as owner, so another caller's
   * session is a 404 exactly like a missing one. The gateway never writes sessions; the orchestrator does.
   */
  store: Pick<SessionStore, 'get' | 'list'>;
  cancel(sessionId: string, principal: string): Promise<SessionCancelResult>;
}

const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) });

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
    return c.json(toSessionView(session));
  });

  app.delete('/v1/sessions/:id', async (c) => {
    const result = await deps.cancel(c.req.param('id'), c.var.principal);
    return c.json(result);
  });
}

/** The public view: snake_case, without the owner, the stored conversation or agent task ids. */
export function toSessionView(session: Session | SessionRecord): SessionView {
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
