import {
  type ApprovalDecision,
  type DagEvent,
  EnsembleError,
  ErrorCode,
  type ExecutionPlan,
  type NodeError,
  type NodeResult,
  type PlanNode,
  type PlanRevision,
  type WorkflowStatus,
} from '@ensemble/protocol';

import { type Clock, systemClock } from './clock.js';
import { describeCondition, evaluateCondition } from './condition.js';
import { renderTemplate } from './template.js';
import { type AgentCatalog, type PlanLimits, assertValidPlan, validatePlan } from './validate.js';

/** What the engine asks a runner to do: one attempt of one node. */
export interface NodeRunRequest {
  node: PlanNode;
  /** The agent to call: the node's own, or its fallback once its attempts are exhausted; null = pick one offering `node.skill`. */
  agent: string | null;
  /** The node's input template, rendered. */
  input: string;
  /** 1-based attempt number for this node, fallback attempts included. */
  attempt: number;
  fallback: boolean;
  /** Aborted on timeout (reason: `upstream_timeout` EnsembleError) or cancellation (reason: `cancelled`). */
  signal: AbortSignal;
  /** The human's decision when this call resumes a node that was waiting for approval. */
  approval: ApprovalDecision | null;
  /** The node's record from an earlier run (resume): its `taskId` lets the runner continue the same agent task. */
  previous: NodeResult | null;
  /**
   * The runner says which agent task runs the attempt as soon as it knows (the agent's first event).
   * The engine saves it with the node's `running` record (written behind, like that record), so a run
   * resumed after a crash reconnects to the task instead of sending the work again.
   */
  onAgentTask?: (agent: string | null, taskId: string) => void;
  /**
   * When the node's retry budget is spent (`clock.now()` milliseconds; `Infinity` without a budget). A
   * runner that waits inside an attempt (for an agent that is restarting) gives up by then.
   */
  deadline: number;
}

export type NodeRunOutcome =
  | {
      kind: 'completed';
      output: string;
      /** The agent that actually ran it, when the runner picked one (skill-only nodes). */
      agent?: string | null;
      taskId?: string | null;
    }
  | {
      /** The agent needs a human decision: the node pauses, independent branches keep running. */
      kind: 'approval_required';
      context: Record<string, unknown>;
      agent?: string | null;
      taskId?: string | null;
    };

/** Runs one attempt. Throwing means the attempt failed (retried per policy unless `isRetryable` says no). */
export type NodeRunner = (request: NodeRunRequest) => Promise<NodeRunOutcome>;

/**
 * A read-only copy of a run's state at the moment `revise` was called, given to `revise`. `plan` and
 * `results` are copied on first read (not when the snapshot is made), so a reviser that answers
 * without looking costs nothing; what they return is the same whenever they are read.
 */
export interface DagSnapshot {
  request: string;
  plan: ExecutionPlan;
  results: Record<string, NodeResult>;
}

export interface DagRunOptions {
  plan: ExecutionPlan;
  /** The user's request text, for `{{request}}`. */
  request: string;
  runNode: NodeRunner;
  /** Saved node results to resume from (see "Resume" in the README). Nodes without a record are pending. */
  state?: Readonly<Record<string, NodeResult>>;
  /** Decisions for nodes that are `waiting_approval` in `state`; a waiting node without one stays waiting. */
  approvals?: Readonly<Record<string, ApprovalDecision>>;
  /** Most nodes running (or backing off) at once. Default 8. */
  maxConcurrency?: number;
  /** Cancels the run: running nodes are aborted and end `cancelled`, the run ends `cancelled`. */
  signal?: AbortSignal;
  /** Receives every event, in `sequence` order. Throwing ends the run like a `persist` failure. */
  onEvent?: (event: DagEvent) => void;
  /** Called (and awaited) after every node state change, before the matching event. Failures end the run (the promise rejects). */
  persist?: (nodeId: string, result: NodeResult) => Promise<void>;
  /** Called (and awaited) with the new plan after a revision is accepted, before any revised node starts. */
  persistPlan?: (plan: ExecutionPlan) => Promise<void>;
  /** Asked after every node completes; dependents of that node wait for its answer. `null` = no change. */
  revise?: (snapshot: DagSnapshot, completedNode: string) => Promise<PlanRevision | null>;
  /** Used to validate the plan and revisions. */
  catalog?: AgentCatalog;
  limits?: Partial<PlanLimits>;
  /** Whether a failed attempt is worth retrying. Default: all but `invalid_request`, `unauthorized`, `forbidden`. */
  isRetryable?: (error: unknown) => boolean;
  /**
   * What a node that finally failed does to the rest of the run. `fail` (default): its dependents are
   * blocked (they fail with `dependency_failed`) and the run fails. `partial`: its dependents are skipped
   * (with the reason), the other branches go on, and the run completes with what succeeded. Either way
   * a node marked `required` that fails (or cannot run) fails the run.
   */
  onNodeFailure?: NodeFailurePolicy;
  /**
   * Per node: how long after its first attempt started retries may still begin (and the runner may keep
   * waiting, see `NodeRunRequest.deadline`). A retry whose backoff would end past it is not made.
   * Default: no budget (the plan's `retry.maxAttempts` alone bounds the retries).
   */
  retryBudgetMs?: number;
  /**
   * Jitter source in [0, 1): each backoff becomes `delay * (0.5 + random() / 2)`, so nodes that failed
   * together (one agent restarting) do not retry in lockstep. Default: no jitter (exact backoff).
   */
  random?: () => number;
  clock?: Clock;
  /** The last sequence number already used (when resuming, so numbers keep increasing). Default 0. */
  lastSequence?: number;
}

export type NodeFailurePolicy = 'partial' | 'fail';

export interface DagRunResult {
  status: WorkflowStatus;
  /** The plan as it ended (after accepted revisions). */
  plan: ExecutionPlan;
  results: Record<string, NodeResult>;
  /** Sequence number of the last event emitted. */
  lastSequence: number;
}

const NOT_RETRYABLE: ReadonlySet<string> = new Set([ErrorCode.InvalidRequest, ErrorCode.Unauthorized, ErrorCode.Forbidden]);
const defaultIsRetryable = (error: unknown): boolean => !(error instanceof EnsembleError && NOT_RETRYABLE.has(error.code));
const TERMINAL: ReadonlySet<NodeResult['status']> = new Set(['completed', 'skipped', 'failed']);
/** Why an attempt's timeout timer is stopped: the attempt settled first (one shared error, no stack per attempt). */
const ATTEMPT_SETTLED = new Error('attempt settled');
/** Error code of a node that never ran because a dependency failed. */
export const DEPENDENCY_FAILED = 'dependency_failed';
/** Error code of a node whose approval was rejected. */
export const APPROVAL_REJECTED = 'approval_rejected';

/**
 * Runs an execution plan to the end, to a pause, or to cancellation. Pure: every effect goes through the
 * options (runner, persist, clock, events). Rules, in the order they apply to a pending node once its
 * dependencies are all finished (completed, skipped or failed):
 *
 * 1. A failed dependency blocks the node (it fails with `dependency_failed`, never running) unless the
 *    node's condition tests that very dependency with `failed` or `succeeded`: such a node is the
 *    plan's own error handling. Under `onNodeFailure: 'partial'` the node is skipped instead (status
 *    `skipped`, error `dependency_failed` naming the failure), and so are its own dependents in turn;
 *    a `required` node is still blocked.
 * 2. If every dependency was skipped, the node is skipped: there is nothing for it to work on. With some
 *    dependencies skipped and others completed it runs; a skipped node's output renders as "".
 * 3. A false condition skips the node.
 * 4. Otherwise it starts, as soon as a concurrency slot is free (ready nodes start in plan order).
 *
 * A node's attempts follow its retry policy (backoff `backoffMs * 2^(n-1)`), each bounded by `timeoutMs`;
 * then, if it has one, the fallback agent gets the same policy. The run's status:
 * `cancelled` if the signal aborted; else `failed` if a `required` node failed, or a human rejected a
 * node's approval (its dependents are blocked under either policy), or some node was blocked by
 * a failure (rule 1), or nodes failed and none completed; else `paused` if a node waits for approval;
 * else `completed` (a failed node nothing depends on does not fail the run; it is listed in
 * `failedNodes`). Retries back off with optional jitter and stop when the node's `retryBudgetMs` is spent.
 */
export async function runDag(options: DagRunOptions): Promise<DagRunResult> {
  return new DagRun(options).run();
}

type AttemptResult = { kind: 'outcome'; outcome: NodeRunOutcome } | { kind: 'error'; error: NodeError; retryable: boolean } | { kind: 'cancelled' };

class DagRun {
  readonly #options: DagRunOptions;
  readonly #clock: Clock;
  readonly #maxConcurrency: number;
  readonly #isRetryable: (error: unknown) => boolean;
  readonly #onNodeFailure: NodeFailurePolicy;
  readonly #retryBudgetMs: number;
  readonly #random: (() => number) | undefined;
  readonly #results = new Map<string, NodeResult>();
  /** Records from the saved state for nodes that must run again (they were running or cancelled). */
  readonly #previous = new Map<string, NodeResult>();
  readonly #running = new Map<string, Promise<void>>();
  /** Completed nodes whose `revise` answer is not applied yet: their dependents wait. */
  readonly #revising = new Set<string>();
  readonly #approvalsUsed = new Set<string>();
  /** Aborted by the caller's signal or by a fatal error; every attempt listens to it. */
  readonly #abort = new AbortController();
  #plan: ExecutionPlan;
  #sequence: number;
  #fatal: { error: unknown } | undefined;
  #planWrite: Promise<void> | undefined;

  constructor(options: DagRunOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#maxConcurrency = Math.max(1, options.maxConcurrency ?? 8);
    this.#isRetryable = options.isRetryable ?? defaultIsRetryable;
    this.#onNodeFailure = options.onNodeFailure ?? 'fail';
    this.#retryBudgetMs = Math.max(0, options.retryBudgetMs ?? Number.POSITIVE_INFINITY);
    this.#random = options.random;
    this.#sequence = options.lastSequence ?? 0;
    this.#plan = assertValidPlan(options.plan, { catalog: options.catalog, limits: options.limits });
  }

  async run(): Promise<DagRunResult> {
    const { signal } = this.#options;
    const onAbort = (): void => this.#abort.abort(new EnsembleError(ErrorCode.Cancelled, 'Workflow cancelled'));
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const resumed = this.#loadState();
      this.#emit({ type: 'workflow_started', nodes: this.#plan.nodes.length, resumed });
      await this.#loop();
      if (this.#fatal !== undefined) throw this.#fatal.error;
      return this.#finish();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #loadState(): boolean {
    const saved = this.#options.state ?? {};
    let resumed = false;
    for (const node of this.#plan.nodes) {
      const record = saved[node.id];
      if (record === undefined) {
        this.#results.set(node.id, pendingResult());
        continue;
      }
      resumed = true;
      if (record.status === 'running' || record.status === 'cancelled') {
        // Interrupted mid-attempt (crash or cancel): run it again, telling the runner what was there.
        this.#previous.set(node.id, structuredClone(record));
        this.#results.set(node.id, pendingResult());
      } else {
        this.#results.set(node.id, structuredClone(record));
      }
    }
    return resumed;
  }

  async #loop(): Promise<void> {
    const aborted = new Promise<void>((resolve) => this.#abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    for (;;) {
      try {
        if (this.#planWrite !== undefined) await this.#planWrite;
        await this.#schedule();
      } catch (error) {
        this.#failFatally(error);
      }
      if (this.#running.size === 0) return;
      await Promise.race([...this.#running.values(), aborted]);
      if (this.#abort.signal.aborted) {
        // Attempts listen to the same signal, so every running node settles promptly.
        await Promise.allSettled([...this.#running.values()]);
        return;
      }
    }
  }

  /** Moves every node that can move: starts ready ones, records skipped and blocked ones (cascading). */
  async #schedule(): Promise<void> {
    for (;;) {
      // A revision being written may change pending nodes: wait for the next loop turn.
      if (this.#abort.signal.aborted || this.#planWrite !== undefined) return;
      const settled = this.#startReadyNodes();
      if (settled === undefined) return;
      await this.#record(settled.id, settled.result, settled.event);
    }
  }

  /**
   * Synchronous, so it always sees the current plan: starts ready nodes in plan order while slots are
   * free, and returns the first node that settles without running (skipped or blocked) for the caller to
   * record, after which the scan starts again (its dependents may now settle too).
   */
  #startReadyNodes(): { id: string; result: NodeResult; event: NodeEventInput } | undefined {
    for (const node of this.#plan.nodes) {
      if (this.#running.has(node.id)) continue;
      const result = this.#result(node.id);
      const hasSlot = this.#running.size < this.#maxConcurrency;
      if (result.status === 'waiting_approval') {
        const approval = this.#options.approvals?.[node.id];
        if (approval !== undefined && !this.#approvalsUsed.has(node.id) && hasSlot) {
          this.#approvalsUsed.add(node.id);
          this.#start(node, approval);
        }
        continue;
      }
      if (result.status !== 'pending') continue;
      const decision = this.#readiness(node);
      if (decision.kind === 'run') {
        if (hasSlot) this.#start(node, null);
      } else if (decision.kind === 'skip') {
        return {
          id: node.id,
          result: { ...pendingResult(), status: 'skipped', skipReason: decision.reason, error: decision.error ?? null, finishedAt: this.#iso() },
          event: { type: 'node_skipped', node: node.id, reason: decision.reason },
        };
      } else if (decision.kind === 'blocked') {
        const error = { code: DEPENDENCY_FAILED, message: this.#dependencyFailure(decision.dependency) };
        return { id: node.id, result: { ...pendingResult(), status: 'failed', error, finishedAt: this.#iso() }, event: { type: 'node_failed', node: node.id, agent: null, error } };
      }
    }
    return undefined;
  }

  #readiness(node: PlanNode): { kind: 'wait' } | { kind: 'run' } | { kind: 'skip'; reason: string; error?: NodeError } | { kind: 'blocked'; dependency: string } {
    const dependencies = [...new Set(node.dependsOn)];
    for (const dependency of dependencies) {
      if (!TERMINAL.has(this.#result(dependency).status) || this.#revising.has(dependency)) return { kind: 'wait' };
    }
    const condition = node.condition;
    for (const dependency of dependencies) {
      const upstream = this.#result(dependency);
      // Under `partial`, a node skipped because of a failure passes the failure on: its output is missing, not empty.
      const lost = upstream.status === 'failed' || (upstream.status === 'skipped' && upstream.error?.code === DEPENDENCY_FAILED);
      if (!lost) continue;
      const handled = condition !== null && condition.node === dependency && (condition.operator === 'failed' || condition.operator === 'succeeded');
      if (handled) continue;
      // A human's "no" is never worked around: what depends on the rejected action does not run.
      if (this.#onNodeFailure === 'fail' || node.required === true || this.#rejected(dependency)) return { kind: 'blocked', dependency };
      const message = this.#dependencyFailure(dependency);
      return { kind: 'skip', reason: message, error: { code: DEPENDENCY_FAILED, message } };
    }
    if (dependencies.length > 0 && dependencies.every((dependency) => this.#result(dependency).status === 'skipped')) {
      return { kind: 'skip', reason: 'all dependencies were skipped' };
    }
    if (condition !== null && !evaluateCondition(condition, this.#results.get(condition.node))) {
      return { kind: 'skip', reason: `condition not met: ${describeCondition(condition)}` };
    }
    return { kind: 'run' };
  }

  /** Why a dependency's output is missing, traced back to the node that failed on its own. */
  #dependencyFailure(dependency: string): string {
    const upstream = this.#result(dependency);
    if (upstream.status === 'skipped' && upstream.error !== null) return upstream.error.message;
    if (upstream.error?.code === DEPENDENCY_FAILED) return upstream.error.message;
    return `Dependency "${dependency}" failed: ${upstream.error?.message ?? 'unknown error'}`;
  }

  #start(node: PlanNode, approval: ApprovalDecision | null): void {
    const task = this.#execute(node, approval)
      .catch((error: unknown) => this.#failFatally(error))
      .finally(() => this.#running.delete(node.id));
    this.#running.set(node.id, task);
  }

  async #execute(node: PlanNode, approval: ApprovalDecision | null): Promise<void> {
    const id = node.id;
    const before = this.#result(id);
    const previous = approval === null ? (this.#previous.get(id) ?? null) : before;
    const input = renderTemplate(node.input, { request: this.#options.request, output: (other) => this.#results.get(other)?.output ?? undefined });
    const phases: { agent: string | null; fallback: boolean }[] = [{ agent: node.agent, fallback: false }];
    if (node.fallbackAgent !== null) phases.push({ agent: node.fallbackAgent, fallback: true });
    // A node resumed after approval continues with the agent that asked for it.
    const firstPhase = approval !== null && node.fallbackAgent !== null && before.agent === node.fallbackAgent ? 1 : 0;
    let attempts = approval === null ? 0 : before.attempts;
    const startedAt = approval === null ? this.#iso() : (before.startedAt ?? this.#iso());
    // The agent task the next attempt continues (a resumed node's, until an attempt fails: the next one
    // sends anew, so its `running` record must not name an older attempt's task), and the latest known.
    let taskId = previous?.taskId ?? null;
    let lastTaskId = taskId;
    let lastError: NodeError = { code: ErrorCode.Internal, message: 'Node did not run' };
    let lastAgent: string | null = node.agent;
    const deadline = this.#clock.now() + this.#retryBudgetMs;

    allPhases: for (let phaseIndex = firstPhase; phaseIndex < phases.length; phaseIndex += 1) {
      const phase = phases[phaseIndex] ?? { agent: node.agent, fallback: false };
      if (phaseIndex > firstPhase) this.#emit({ type: 'node_fallback', node: id, from: lastAgent, to: phase.agent ?? '', error: lastError });
      lastAgent = phase.agent;
      for (let attemptInPhase = 1; attemptInPhase <= node.retry.maxAttempts; attemptInPhase += 1) {
        attempts += 1;
        const running: NodeResult = { ...pendingResult(), status: 'running', attempts, agent: phase.agent, startedAt, taskId };
        await this.#record(id, running, { type: 'node_started', node: id, agent: phase.agent, attempt: attempts, input });
        const onAgentTask = (agent: string | null, agentTaskId: string): void => {
          lastTaskId = agentTaskId;
          // Not awaited (nor is the `running` record): a failed write shows on the node's next awaited one.
          this.#options.persist?.(id, { ...running, agent: agent ?? running.agent, taskId: agentTaskId })?.catch(() => undefined);
        };
        const result = await this.#attempt(node, { node, agent: phase.agent, input, attempt: attempts, fallback: phase.fallback, signal: this.#abort.signal, approval, previous, deadline, onAgentTask });

        if (result.kind === 'cancelled') {
          await this.#cancelled(id, running);
          return;
        }
        if (result.kind === 'outcome') {
          const outcome = result.outcome;
          const agent = outcome.agent ?? phase.agent;
          taskId = outcome.taskId ?? lastTaskId;
          if (outcome.kind === 'approval_required') {
            const waiting: NodeResult = { ...running, status: 'waiting_approval', agent, taskId, approvalContext: outcome.context };
            await this.#record(id, waiting, { type: 'node_waiting_approval', node: id, agent, context: outcome.context });
            return;
          }
          const completed: NodeResult = { ...running, status: 'completed', output: outcome.output, agent, taskId, finishedAt: this.#iso() };
          await this.#record(id, completed, { type: 'node_completed', node: id, agent, output: outcome.output });
          await this.#revise(id);
          return;
        }

        lastError = result.error;
        taskId = null;
        // A rejected approval is final: no retries, no fallback (the human said no to this action).
        if (approval?.approved === false) {
          lastError = { code: APPROVAL_REJECTED, message: `Approval rejected${approval.comment === null ? '' : `: ${approval.comment}`}` };
          break allPhases;
        }
        if (!result.retryable || attemptInPhase === node.retry.maxAttempts) break;
        const delayMs = this.#backoff(node.retry.backoffMs * 2 ** (attemptInPhase - 1));
        if (this.#clock.now() + delayMs > deadline) {
          lastError = { ...lastError, message: `${lastError.message} (retry budget of ${this.#retryBudgetMs} ms spent)` };
          break;
        }
        this.#emit({ type: 'node_retrying', node: id, agent: phase.agent, attempt: attempts + 1, delayMs, error: lastError });
        try {
          await this.#clock.sleep(delayMs, this.#abort.signal);
        } catch {
          await this.#cancelled(id, running);
          return;
        }
      }
    }
    const failed: NodeResult = { ...pendingResult(), status: 'failed', error: lastError, attempts, agent: lastAgent, startedAt, finishedAt: this.#iso(), taskId: lastTaskId };
    await this.#record(id, failed, { type: 'node_failed', node: id, agent: lastAgent, error: lastError });
  }

  /** The delay before a retry: `base`, jittered into [base/2, base) when a jitter source is set. */
  #backoff(base: number): number {
    if (this.#random === undefined) return base;
    return Math.round(base * (0.5 + Math.min(Math.max(this.#random(), 0), 1) / 2));
  }

  /** One runner call, bounded by the node's timeout and the run's cancellation. */
  async #attempt(node: PlanNode, request: NodeRunRequest): Promise<AttemptResult> {
    if (this.#abort.signal.aborted) return { kind: 'cancelled' };
    const controller = new AbortController();
    const stopTimer = new AbortController();
    const onAbort = (): void => controller.abort(this.#abort.signal.reason);
    this.#abort.signal.addEventListener('abort', onAbort, { once: true });
    const timer = this.#clock.sleep(node.timeoutMs, stopTimer.signal).then(
      (): AttemptResult => {
        const timeout = new EnsembleError(ErrorCode.UpstreamTimeout, `Node "${node.id}" timed out after ${node.timeoutMs} ms`);
        controller.abort(timeout);
        return { kind: 'error', error: toNodeError(timeout), retryable: this.#isRetryable(timeout) };
      },
      // Cleared: the runner finished first; never wins the race.
      () => new Promise<AttemptResult>(() => undefined),
    );
    const cancelled = new Promise<AttemptResult>((resolve) => controller.signal.addEventListener('abort', () => this.#abort.signal.aborted && resolve({ kind: 'cancelled' }), { once: true }));
    // The runner is not trusted to honour its signal: the race settles the attempt either way.
    const call = (async (): Promise<AttemptResult> => {
      try {
        return { kind: 'outcome', outcome: await this.#options.runNode({ ...request, signal: controller.signal }) };
      } catch (error) {
        if (this.#abort.signal.aborted) return { kind: 'cancelled' };
        return { kind: 'error', error: toNodeError(error), retryable: this.#isRetryable(error) };
      }
    })();
    try {
      return await Promise.race([call, timer, cancelled]);
    } finally {
      // A shared reason: `abort()` without one builds a new DOMException (and its stack) per attempt.
      stopTimer.abort(ATTEMPT_SETTLED);
      this.#abort.signal.removeEventListener('abort', onAbort);
    }
  }

  async #cancelled(id: string, running: NodeResult): Promise<void> {
    if (this.#fatal !== undefined) return;
    const cancelled: NodeResult = { ...running, status: 'cancelled', finishedAt: this.#iso() };
    await this.#record(id, cancelled, { type: 'node_cancelled', node: id, agent: running.agent });
  }

  async #revise(completed: string): Promise<void> {
    const revise = this.#options.revise;
    if (revise === undefined) return;
    this.#revising.add(completed);
    try {
      let revision: PlanRevision | null;
      try {
        revision = await revise(this.#snapshot(), completed);
      } catch (error) {
        this.#emit({ type: 'revision_rejected', after: completed, reason: 'revise failed', problems: [toNodeError(error).message] });
        return;
      }
      if (revision === null || this.#abort.signal.aborted) return;
      await this.#applyRevision(revision, completed);
    } finally {
      this.#revising.delete(completed);
    }
  }

  /**
   * Checks a revision against the state at this moment (not the snapshot `revise` saw: other nodes may
   * have started since) and commits it in one synchronous step, so the scheduler never sees half of it.
   */
  async #applyRevision(revision: PlanRevision, after: string): Promise<void> {
    const problems: string[] = [];
    const pendingIds = new Set(this.#plan.nodes.filter((node) => this.#result(node.id).status === 'pending' && !this.#running.has(node.id)).map((node) => node.id));
    // A node whose task is still in `#running` may be completed already (its own revision is pending).
    const describe = (id: string): string => {
      if (!this.#results.has(id)) return `"${id}" is not in the plan`;
      const status = this.#result(id).status;
      return `"${id}" is ${status === 'pending' && this.#running.has(id) ? 'running' : status}`;
    };
    for (const id of revision.skipNodes) if (!pendingIds.has(id)) problems.push(`cannot skip ${describe(id)}`);
    for (const node of revision.updateNodes) if (!pendingIds.has(node.id)) problems.push(`cannot update ${describe(node.id)}`);
    for (const node of revision.addNodes) if (this.#results.has(node.id)) problems.push(`cannot add "${node.id}": a node with that id exists`);
    const skipped = new Set(revision.skipNodes);
    for (const node of revision.updateNodes) if (skipped.has(node.id)) problems.push(`"${node.id}" is both skipped and updated`);

    const updates = new Map(revision.updateNodes.map((node) => [node.id, node]));
    const candidate: ExecutionPlan = { ...this.#plan, nodes: [...this.#plan.nodes.map((node) => updates.get(node.id) ?? node), ...revision.addNodes] };
    if (problems.length === 0) {
      const validation = validatePlan(candidate, { catalog: this.#options.catalog, limits: this.#options.limits });
      if (!validation.ok) problems.push(...validation.issues.map((issue) => `${issue.path}: ${issue.message}`));
    }
    if (problems.length > 0) {
      this.#emit({ type: 'revision_rejected', after, reason: revision.reason, problems });
      return;
    }

    this.#plan = candidate;
    for (const node of revision.addNodes) this.#results.set(node.id, pendingResult());
    for (const id of skipped) this.#results.set(id, { ...pendingResult(), status: 'skipped', skipReason: `revised: ${revision.reason}`, finishedAt: this.#iso() });
    const write = (async () => {
      await this.#options.persistPlan?.(structuredClone(candidate));
      this.#emit({ type: 'replanned', after, revision });
      for (const id of skipped) {
        const result = this.#result(id);
        await this.#record(id, result, { type: 'node_skipped', node: id, reason: result.skipReason ?? 'revised' });
      }
    })();
    this.#planWrite = write;
    try {
      await write;
    } finally {
      if (this.#planWrite === write) this.#planWrite = undefined;
    }
  }

  /** Whether the node failed because a human rejected its approval (under either policy, that ends the run). */
  #rejected(id: string): boolean {
    const result = this.#result(id);
    return result.status === 'failed' && result.error?.code === APPROVAL_REJECTED;
  }

  #finish(): DagRunResult {
    const results = Object.fromEntries(this.#results);
    const all = [...this.#results.values()];
    const failedNodes = [...this.#results].filter(([, result]) => result.status === 'failed').map(([id]) => id);
    const waitingNodes = [...this.#results].filter(([, result]) => result.status === 'waiting_approval').map(([id]) => id);
    let status: WorkflowStatus;
    if (this.#abort.signal.aborted) {
      status = 'cancelled';
      this.#emit({ type: 'workflow_cancelled' });
    } else if (
      this.#plan.nodes.some((node) => node.required === true && this.#result(node.id).status === 'failed') ||
      all.some((result) => result.status === 'failed' && result.error?.code === APPROVAL_REJECTED) ||
      all.some((result) => result.status === 'failed' && result.error?.code === DEPENDENCY_FAILED) ||
      (failedNodes.length > 0 && waitingNodes.length === 0 && !all.some((result) => result.status === 'completed'))
    ) {
      status = 'failed';
      this.#emit({ type: 'workflow_failed', failedNodes });
    } else if (waitingNodes.length > 0) {
      status = 'paused';
      this.#emit({ type: 'workflow_paused', waitingNodes });
    } else {
      status = 'completed';
      this.#emit({ type: 'workflow_completed', failedNodes });
    }
    return { status, plan: structuredClone(this.#plan), results: structuredClone(results), lastSequence: this.#sequence };
  }

  /**
   * Persists the new state, then applies it, then announces it: an event never describes unsaved state,
   * and the scheduler (which reads `#results`) never sees a completed dependency whose result is still
   * being written, so a dependent cannot start before its inputs are durable.
   */
  async #record(id: string, result: NodeResult, event: NodeEventInput): Promise<void> {
    await this.#options.persist?.(id, structuredClone(result));
    this.#results.set(id, result);
    this.#emit(event);
  }

  #emit(event: DistributiveOmit<DagEvent, 'sequence' | 'at'>): void {
    if (this.#fatal !== undefined) return;
    this.#sequence += 1;
    try {
      this.#options.onEvent?.({ ...event, sequence: this.#sequence, at: this.#iso() });
    } catch (error) {
      this.#failFatally(error);
    }
  }

  /** A persist or onEvent failure: the run can no longer be trusted to be durable, so it stops. */
  #failFatally(error: unknown): void {
    if (this.#fatal !== undefined) return;
    this.#fatal = { error };
    this.#abort.abort(error);
  }

  /**
   * The state as of now, copied only when the reviser reads it. `revise` runs after every completed
   * node, and most answers are "no change" without looking at the state (the orchestrator only
   * re-plans when an agent asked), so deep-copying the plan and every result each time was O(nodes) of
   * work per node on the critical path. Capturing is cheap and exact: the plan and the result records
   * are replaced, never mutated in place (`#record`, `#applyRevision`), so holding the current plan and
   * the current record references freezes this moment; the deep copies are made from those references
   * on first read, however late (after an `await`) that read comes.
   */
  #snapshot(): DagSnapshot {
    return new LazyDagSnapshot(this.#options.request, this.#plan, [...this.#results]);
  }

  #result(id: string): NodeResult {
    return this.#results.get(id) ?? pendingResult();
  }

  #iso(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type NodeEventInput = DistributiveOmit<Extract<DagEvent, { node: string }>, 'sequence' | 'at'>;

/**
 * `DagRun.#snapshot`'s copy: the references it was given freeze the moment; the deep copies are made on
 * first read. A class rather than an object literal with getters: see the lint rule in `eslint.config.js`
 * (a literal's accessors kept the plan and records they close over alive past young collections).
 */
class LazyDagSnapshot implements DagSnapshot {
  readonly #plan: ExecutionPlan;
  readonly #records: Array<[string, NodeResult]>;
  #planCopy: ExecutionPlan | undefined;
  #resultsCopy: Record<string, NodeResult> | undefined;

  constructor(
    readonly request: string,
    plan: ExecutionPlan,
    records: Array<[string, NodeResult]>,
  ) {
    this.#plan = plan;
    this.#records = records;
  }

  get plan(): ExecutionPlan {
    this.#planCopy ??= structuredClone(this.#plan);
    return this.#planCopy;
  }

  get results(): Record<string, NodeResult> {
    this.#resultsCopy ??= structuredClone(Object.fromEntries(this.#records));
    return this.#resultsCopy;
  }
}

function pendingResult(): NodeResult {
  return { status: 'pending', output: null, error: null, attempts: 0, agent: null, startedAt: null, finishedAt: null, taskId: null, approvalContext: null, skipReason: null };
}

function toNodeError(error: unknown): NodeError {
  if (error instanceof EnsembleError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: ErrorCode.Internal, message: error.message };
  return { code: ErrorCode.Internal, message: 'Node runner failed' };
}
