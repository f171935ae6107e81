import { readApprovalAnswer, userMessage } from '@ensemble/a2a';
import { type ApprovalStore, decisionFromRequest } from '@ensemble/approvals';
import { ApprovalDecisionRequest, ApprovalStatus, type ChatMessage, EnsembleError, ErrorCode, messageText, toApprovalView } from '@ensemble/protocol';
import { type ServiceEnv, readJsonBody } from '@ensemble/service';
import type { SessionStore } from '@ensemble/sessions';
import type { Context, Hono } from 'hono';
import { z } from 'zod';

/** What the approvals routes need: the shared approval records, and a way to wake the paused workflow. */
export interface ApprovalsApiDeps {
  store: ApprovalStore;
  /** Owner-scoped session read: a session route for another principal's (or an unknown) session is a 404. */
  sessions: Pick<SessionStore, 'get'>;
  /**
   * Tells the orchestrator a decision was recorded, in the background: the workflow resumes without any
   * chat client connected, and a client that re-attaches sees the rest. Never throws.
   */
  resume(sessionId: string, principal: string): void;
}

const ListQuery = z.object({
  status: ApprovalStatus.optional(),
  session_id: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).optional(),
});

const SessionDecisionBody = z.union([ApprovalDecisionRequest.options[0].extend({ approval_id: z.string().min(1).optional() }), ApprovalDecisionRequest.options[1].extend({ approval_id: z.string().min(1).optional() })]);

function listQuery(c: Context<ServiceEnv>): z.infer<typeof ListQuery> {
  const parsed = ListQuery.safeParse(c.req.query());
  if (!parsed.success) {
    const param = String(parsed.error.issues[0]?.path[0] ?? 'query');
    throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid query parameter ${param}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { details: { param } });
  }
  return parsed.data;
}

/**
 * `GET /v1/approvals`, `GET`/`POST /v1/approvals/{id}`, `GET`/`POST /v1/sessions/{id}/approvals`.
 * Owner-scoped (another principal's approval is a 404 and nothing changes); a second decision is a
 * 409; each decision is logged (who, when, what, arguments before and after) and wakes the workflow.
 */
export function mountApprovalsApi(app: Hono<ServiceEnv>, deps: ApprovalsApiDeps): void {
  const list = async (c: Context<ServiceEnv>, sessionId: string | undefined) => {
    const query = listQuery(c);
    const session = sessionId ?? query.session_id;
    const page = await deps.store.list(c.var.principal, {
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(session === undefined ? {} : { sessionId: session }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    return c.json({ object: 'list', data: page.data.map(toApprovalView), next_cursor: page.nextCursor });
  };

  const decide = async (c: Context<ServiceEnv>, id: string, body: ApprovalDecisionRequest) => {
    const principal = c.var.principal;
    const record = await deps.store.get(id, principal);
    if (record === undefined) throw new EnsembleError(ErrorCode.NotFound, `No approval ${id}`, { wireCode: 'approval_not_found', details: { param: 'id' } });
    const decided = await deps.store.decide(id, principal, decisionFromRequest(record, body, principal));
    c.var.logger.info(
      {
        approval_id: id,
        session_id: decided.session_id,
        node: decided.node_id,
        decision: decided.status,
        decided_by: decided.decided_by,
        decided_at: decided.decided_at,
        action: decided.action,
        arguments_before: decided.requested_arguments,
        arguments_after: decided.arguments,
      },
      'approval decided',
    );
    deps.resume(decided.session_id, principal);
    return c.json(toApprovalView(decided));
  };

  app.get('/v1/approvals', (c) => list(c, undefined));

  app.get('/v1/approvals/:id', async (c) => {
    const record = await deps.store.get(c.req.param('id'), c.var.principal);
    if (record === undefined) throw new EnsembleError(ErrorCode.NotFound, `No approval ${c.req.param('id')}`, { wireCode: 'approval_not_found', details: { param: 'id' } });
    return c.json(toApprovalView(record));
  });

  app.post('/v1/approvals/:id', async (c) => decide(c, c.req.param('id'), await readJsonBody(c, ApprovalDecisionRequest)));

  app.get('/v1/sessions/:id/approvals', async (c) => {
    // Another principal's (or an unknown) session is a 404, like the session itself.
    await deps.sessions.get(c.req.param('id'), c.var.principal);
    return list(c, c.req.param('id'));
  });

  app.post('/v1/sessions/:id/approvals', async (c) => {
    const sessionId = c.req.param('id');
    const { approval_id: approvalId, ...body } = await readJsonBody(c, SessionDecisionBody);
    if (approvalId !== undefined) {
      const record = await deps.store.get(approvalId, c.var.principal);
      if (record?.session_id !== sessionId) throw new EnsembleError(ErrorCode.NotFound, `No approval ${approvalId} in session ${sessionId}`, { wireCode: 'approval_not_found', details: { param: 'approval_id' } });
      return decide(c, approvalId, body);
    }
    const pending = await deps.store.list(c.var.principal, { sessionId, status: 'pending', limit: 100 });
    if (pending.data.length === 0) {
      await deps.sessions.get(sessionId, c.var.principal);
      throw new EnsembleError(ErrorCode.Conflict, `Session ${sessionId} has no pending approval`, { wireCode: 'no_pending_approval' });
    }
    if (pending.data.length > 1) {
      const ids = pending.data.map((record) => record.id);
      throw new EnsembleError(ErrorCode.Conflict, `Several approvals are pending in session ${sessionId} (${ids.join(', ')}): name one with approval_id`, {
        wireCode: 'approval_ambiguous',
        details: { param: 'approval_id', approval_ids: ids },
      });
    }
    return decide(c, pending.data[0]?.id ?? '', body);
  });
}

/**
 * A chat turn on a session whose last user message is an "approve" / "reject" answers the session's
 * pending approval. With several pending it cannot say which: 409 listing the ids (decide each through
 * `POST /v1/approvals/{id}`). Anything else passes.
 */
export async function assertUnambiguousChatDecision(store: ApprovalStore, principal: string, sessionId: string, messages: readonly ChatMessage[]): Promise<void> {
  const last = messages.at(-1);
  if (last?.role !== 'user' || readApprovalAnswer(userMessage({ text: messageText(last.content) })) === undefined) return;
  const pending = await store.list(principal, { sessionId, status: 'pending', limit: 100 });
  if (pending.data.length < 2) return;
  const ids = pending.data.map((record) => record.id);
  throw new EnsembleError(ErrorCode.Conflict, `Several approvals are pending in session ${sessionId} (${ids.join(', ')}): decide each with POST /v1/approvals/{id}`, {
    wireCode: 'approval_ambiguous',
    details: { approval_ids: ids },
  });
}
