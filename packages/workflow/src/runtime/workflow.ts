import type { ApprovalStore, ApprovalTimeoutAction, PauseDetails } from '@ensemble/approvals';
import { APPROVAL_REJECTED, DEPENDENCY_FAILED, type NodeFailurePolicy, runDag } from '@ensemble/dag';
import type { createLlmClient } from '@ensemble/llm';
import { lastUserText } from '@ensemble/openai-a2a';
import {
  type ApprovalDecision,
  type ApprovalRecord,
  EnsembleError,
  ErrorCode,
  type ExecutionPlan,
  type NodeError,
  type NodeResult,
  type ReplanSignal,
  type Session,
} from '@ensemble/protocol';
import type { SessionLease, SessionStore } from '@ensemble/sessions';
import type { Logger } from '@ensemble/telemetry';

import { type AgentClients, type AgentDirectory, catalogOf } from './agents.js';
import { type ProgressSink, dagEventToProgress, planSummary } from './events.js';
import { createNodeRunner, isRetryableNodeError } from './node-runner.js';
import { NodeResultWriter } from './node-writes.js';
import { revisionFromPlan } from './plan-revision.js';
import { planningConversation, replanResults, requestPlan } from './planner.js';
import type { ResultStore } from './results.js';
import { formatResults, missingResults, synthesize } from './synthesis.js';

export interface WorkflowDeps {
  store: SessionStore;
  results: ResultStore;
  directory: AgentDirectory;
  clients: AgentClients;
  llm: ReturnType<typeof createLlmClient>;
  model: string;
  maxConcurrency: number;
  plannerTimeoutMs: number;
  /** What a node that finally failed does to the workflow (`ORCHESTRATOR_ON_NODE_FAILURE`). Default `partial`. */
  onNodeFailure?: NodeFailurePolicy;
  /** Per node: how long retries (and waits for a restarting agent) may go on (`ORCHESTRATOR_NODE_RETRY_BUDGET_MS`). */
  nodeRetryBudgetMs?: number;
  /** Where paused nodes' approvals are recorded (one per pause); none = pauses are answered in the chat only. */
  approvals?: ApprovalStore;
  /** How long an approval waits for a decision (`APPROVAL_TIMEOUT_SECONDS`). Default one day. */
  approvalTimeoutSeconds?: number;
  /** What an approval that expired undecided does (`APPROVAL_TIMEOUT_ACTION`). Default `reject`. */
  approvalTimeoutAction?: ApprovalTimeoutAction;
  logger: Logger;
}

/** Default of `approvalTimeoutSeconds`. */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 86_400;

/** Error code of a workflow that failed because a node the plan marked `required` failed or could not run. */
export const REQUIRED_NODE_FAILED = 'required_node_failed';
/** Error code of a workflow that failed because a node failed (policy `fail`, or nothing succeeded). */
export const NODE_FAILED = 'node_failed';
/** Error code of a workflow that failed because an approval expired undecided (`APPROVAL_TIMEOUT_ACTION=fail`). */
export const APPROVAL_EXPIRED = 'approval_expired';

/** A node paused for a human decision, as stored in the session's `approvalContext.nodes`. */
export interface WaitingNode {
  node: string;
  agent: string | null;
  agentTaskId: string | null;
  question: string;
  /** The approval record of this pause (absent when no approval store is configured). */
  approvalId?: string;
}

export type WorkflowOutcome =
  | { kind: 'completed'; answer: string }
  /** `code` is `approval_rejected` when every node that failed was stopped by a user's rejection. */
  | { kind: 'failed'; message: string; code: string; nodes?: { node: string; agent: string | null }[] }
  | { kind: 'paused'; waiting: WaitingNode[] }
  | { kind: 'cancelled' }
  /** Stopped without finishing the session (shutdown, lost lease, storage down): it stays resumable. */
  | { kind: 'interrupted'; reason: string };

export interface WorkflowRun {
  session: Session;
  lease: SessionLease;
  sink: ProgressSink;
  /**
   * Aborts the run. Reason `cancelled` (EnsembleError) means the user cancelled: the session is finished
   * as cancelled. Any other reason (shutdown) leaves the session resumable.
   */
  signal: AbortSignal;
  /** Decisions for nodes waiting for approval. */
  approvals?: Readonly<Record<string, ApprovalDecision>>;
  /**
   * Nodes whose approval expired under the timeout action `fail`: they resume rejected (so the agent
   * lets go of its task), and the workflow fails with `approval_expired` rather than ending rejected.
   */
  expiredToFail?: readonly string[];
  /**
   * Called with how the workflow ended, before the session is finished in the store: the caller writes
   * the ending to the event log there, so no crash can leave a finished session whose log never ends
   * (a client waiting on the log would wait for a run that nobody resumes).
   */
  beforeFinish?: (outcome: Exclude<WorkflowOutcome, { kind: 'paused' | 'interrupted' }>) => Promise<void>;
}

/**
 * "Node "x" (agent "y") failed: why" for every node that failed on its own (not because of another);
 * "did not proceed" instead of "failed" for a node whose approval the user rejected.
 */
export function describeFailures(plan: ExecutionPlan, results: Readonly<Record<string, NodeResult>>): string {
  const own = plan.nodes.filter((node) => results[node.id]?.status === 'failed' && results[node.id]?.error?.code !== DEPENDENCY_FAILED);
  if (own.length === 0) return 'The workflow failed';
  return own
    .map((node) => {
      const result = results[node.id];
      const agent = result?.agent ?? node.agent;
      const what = result?.error?.code === APPROVAL_REJECTED ? 'did not proceed' : 'failed';
      return `Node "${node.id}"${agent === null || agent === undefined ? '' : ` (agent "${agent}")`} ${what}: ${result?.error?.message ?? 'unknown error'}`;
    })
    .join('; ');
}

/**
 * The nodes a user's rejection stopped, when that is the only reason the workflow failed (every node
 * that failed on its own was rejected); `undefined` otherwise.
 */
export function rejectedNodes(plan: ExecutionPlan, results: Readonly<Record<string, NodeResult>>): { node: string; agent: string | null }[] | undefined {
  const own = plan.nodes.filter((node) => results[node.id]?.status === 'failed' && results[node.id]?.error?.code !== DEPENDENCY_FAILED);
  if (own.length === 0 || own.some((node) => results[node.id]?.error?.code !== APPROVAL_REJECTED)) return undefined;
  return own.map((node) => ({ node: node.id, agent: results[node.id]?.agent ?? node.agent }));
}

export function waitingNodes(results: Readonly<Record<string, NodeResult>>): WaitingNode[] {
  return Object.entries(results)
    .filter(([, result]) => result.status === 'waiting_approval')
    .map(([node, result]) => ({
      node,
      agent: result.agent,
      agentTaskId: result.taskId,
      question: typeof result.approvalContext?.['question'] === 'string' ? result.approvalContext['question'] : 'The agent asks for approval to continue.',
      ...(typeof result.approvalContext?.['approval_id'] === 'string' ? { approvalId: result.approvalContext['approval_id'] } : {}),
    }));
}

/** Records one approval per paused node of a session, expiring `timeoutSeconds` from now. */
function recordApprovalIn(store: ApprovalStore, scope: { owner: string; sessionId: string; timeoutSeconds: number }) {
  return (nodeId: string, agent: string, { timeoutSeconds, ...pause }: PauseDetails): Promise<ApprovalRecord> =>
    store.create({ ...scope, nodeId, agent, ...pause, timeoutSeconds: timeoutSeconds ?? scope.timeoutSeconds });
}

/** Default of `nodeRetryBudgetMs`: bridges an agent restart of several seconds. */
export const DEFAULT_NODE_RETRY_BUDGET_MS = 15_000;

function isUserCancel(signal: AbortSignal): boolean {
  return signal.aborted && EnsembleError.is(signal.reason, ErrorCode.Cancelled);
}

/**
 * Runs (or resumes) one session's workflow to its end, a pause, or an interruption: plan if there is no
 * plan yet, execute the DAG (saving every node result), revise the plan when an agent asks, synthesise
 * the answer, and finish the session. The caller holds the session's lease for the whole call.
 */
export async function runWorkflow(deps: WorkflowDeps, run: WorkflowRun): Promise<WorkflowOutcome> {
  const { session, lease, sink } = run;
  const { id, owner } = session;
  const logger = deps.logger.child({ session_id: id });
  const signal = AbortSignal.any([run.signal, lease.lost]);
  // The user's request: the last user turn of the stored conversation.
  const request = lastUserText(session.request.messages);
  const planner = { directory: deps.directory, clients: deps.clients, sink, sessionId: id, timeoutMs: deps.plannerTimeoutMs };

  const finish = async (outcome: Exclude<WorkflowOutcome, { kind: 'paused' | 'interrupted' }>): Promise<WorkflowOutcome> => {
    const status = outcome.kind;
    const error: NodeError | null = outcome.kind === 'failed' ? { code: outcome.code, message: outcome.message } : null;
    try {
      await run.beforeFinish?.(outcome);
      // The answer first: a client that sees the session gone can then always find how it ended.
      await deps.results.put({ sessionId: id, owner, status, answer: outcome.kind === 'completed' ? outcome.answer : null, error, finishedAt: new Date().toISOString() });
      await deps.store.finish(id, owner, { status, errorType: error?.code ?? null, errorMessage: error?.message ?? null });
    } catch (caught) {
      logger.error({ err: caught, status }, 'could not record the finished session');
    }
    logger.info({ status }, 'workflow finished');
    return outcome;
  };

  const stopped = async (): Promise<WorkflowOutcome> => {
    if (lease.lost.aborted) return { kind: 'interrupted', reason: 'Another orchestrator took over this session (its lease was lost)' };
    if (isUserCancel(run.signal)) return finish({ kind: 'cancelled' });
    return { kind: 'interrupted', reason: 'The orchestrator is shutting down; the session will resume on another instance' };
  };

  try {
    if (session.status === 'waiting_approval' && run.approvals !== undefined) {
      await deps.store.update(id, owner, { status: 'active', approvalContext: null });
    }
    let plan = session.dag;
    if (plan === null) {
      sink.progress({ type: 'planning', message: 'Planning the work' });
      const planned = await requestPlan(planner, { request, conversation: planningConversation(session.request.messages) }, signal);
      plan = planned.plan;
      await deps.store.update(id, owner, { dag: plan });
    }
    sink.progress({ type: 'plan_ready', message: plan.goal, metadata: { plan: planSummary(plan), session_id: id } });

    let currentPlan = plan;
    const replans = new Map<string, ReplanSignal>();
    const agentOf = (nodeId: string): string | undefined => {
      const node = currentPlan.nodes.find((candidate) => candidate.id === nodeId);
      if (node === undefined) return undefined;
      return node.agent ?? (node.skill === null ? undefined : (deps.directory.resolveSkill(node.skill)?.agent.name ?? undefined));
    };
    // A node's result is stored before its dependents start; its `running` record is written behind.
    const writes = new NodeResultWriter((nodeId, nodeResult) => deps.store.putNodeResult(id, owner, nodeId, nodeResult));
    const result = await runDag({
      plan,
      request,
      state: session.nodes,
      ...(run.approvals === undefined ? {} : { approvals: run.approvals }),
      maxConcurrency: deps.maxConcurrency,
      signal,
      onNodeFailure: deps.onNodeFailure ?? 'partial',
      retryBudgetMs: deps.nodeRetryBudgetMs ?? DEFAULT_NODE_RETRY_BUDGET_MS,
      isRetryable: isRetryableNodeError,
      random: Math.random,
      catalog: catalogOf(deps.directory),
      runNode: createNodeRunner({
        directory: deps.directory,
        clients: deps.clients,
        sessionId: id,
        sink,
        logger,
        onReplan: (nodeId, replan) => replans.set(nodeId, replan),
        ...(deps.approvals === undefined ? {} : { recordApproval: recordApprovalIn(deps.approvals, { owner, sessionId: id, timeoutSeconds: deps.approvalTimeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS }) }),
      }),
      persist: writes.persist,
      persistPlan: async (next) => {
        currentPlan = next;
        await deps.store.update(id, owner, { dag: next });
      },
      onEvent: (event) => {
        const progress = dagEventToProgress(event, { plan: currentPlan, agentOf });
        // The engine's own timestamp: when it happened, not when the client got to read it.
        if (progress !== undefined) sink.progress({ ...progress, metadata: { ...progress.metadata, at: event.at } });
      },
      revise: async (snapshot, completed) => {
        const replan = replans.get(completed);
        if (replan === undefined) return null;
        replans.delete(completed);
        logger.info({ node: completed, reason: replan.reason }, 're-planning');
        const planned = await requestPlan(planner, { request, replan: { plan: snapshot.plan, results: replanResults(snapshot.plan, snapshot.results), reason: replan.reason } }, signal);
        return planned.revision ?? revisionFromPlan(snapshot.plan, planned.plan, snapshot.results, replan.reason);
      },
    }).catch(async (error: unknown) => {
      // Nothing of this run may land after the session is finished below.
      await writes.drain().catch(() => undefined);
      throw error;
    });
    await writes.drain();
    switch (result.status) {
      case 'cancelled':
        return await stopped();
      case 'failed': {
        const rejected = rejectedNodes(result.plan, result.results);
        const expired = (run.expiredToFail ?? []).filter((node) => result.results[node]?.error?.code === APPROVAL_REJECTED);
        if (expired.length > 0) {
          const which = expired.map((node) => `"${node}"`).join(', ');
          return await finish({ kind: 'failed', message: `No decision on the approval of node ${which} before its deadline, so the workflow failed (APPROVAL_TIMEOUT_ACTION=fail)`, code: APPROVAL_EXPIRED });
        }
        // The user said no: not a fault of any agent or of ours, and callers should be able to tell.
        if (rejected !== undefined) return await finish({ kind: 'failed', message: describeFailures(result.plan, result.results), code: APPROVAL_REJECTED, nodes: rejected });
        const required = result.plan.nodes.some((node) => node.required === true && result.results[node.id]?.status === 'failed');
        return await finish({ kind: 'failed', message: describeFailures(result.plan, result.results), code: required ? REQUIRED_NODE_FAILED : NODE_FAILED });
      }
      case 'paused': {
        const waiting = waitingNodes(result.results);
        await deps.store.update(id, owner, { status: 'waiting_approval', approvalContext: { nodes: waiting }, currentNodes: [] });
        logger.info({ nodes: waiting.map((node) => node.node) }, 'workflow waiting for approval');
        return { kind: 'paused', waiting };
      }
      case 'completed': {
        // Say what the answer lacks before it streams, by node: the client's UI can show it next to the answer.
        const missing = missingResults(result.plan, result.results);
        sink.progress({
          type: 'synthesis',
          message: missing.length === 0 ? 'Writing the final answer' : `Writing the final answer without ${missing.map((entry) => `"${entry.node}" (${entry.status})`).join(', ')}`,
          ...(missing.length === 0 ? {} : { metadata: { missing } }),
        });
        let answer: string;
        try {
          answer = await synthesize(deps.llm, { model: deps.model, request, plan: result.plan, results: result.results, signal, onToken: (text) => sink.answer(text), onUsage: (usage) => sink.usage(usage) });
        } catch (error) {
          if (signal.aborted) return await stopped();
          // The agents' work is done and saved: degrade to their results rather than lose them.
          logger.warn({ err: error }, 'final synthesis failed; answering with the raw results');
          sink.progress({ type: 'error', message: `The final synthesis failed (${error instanceof Error ? error.message : 'unknown error'}); showing the agents' results instead` });
          answer = formatResults(result.plan, result.results);
          sink.answer(answer);
        }
        return await finish({ kind: 'completed', answer });
      }
    }
  } catch (error) {
    if (signal.aborted) return stopped();
    if (EnsembleError.is(error, ErrorCode.Unavailable)) {
      logger.error({ err: error }, 'session storage failing; workflow interrupted');
      return { kind: 'interrupted', reason: 'Session storage is unavailable; the session will resume when it recovers' };
    }
    const message = error instanceof EnsembleError ? error.message : 'The workflow failed unexpectedly';
    if (!(error instanceof EnsembleError)) logger.error({ err: error }, 'workflow threw');
    return finish({ kind: 'failed', message, code: error instanceof EnsembleError ? (error.wireCode ?? error.code) : ErrorCode.Internal });
  }
}

