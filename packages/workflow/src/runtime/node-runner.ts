import { type Task, TaskState } from '@a2a-js/sdk';
import { approvalMessage, firstUserMessage, isInterruptedState, isTerminalState, partsText, userMessage } from '@ensemble/a2a';
import { type A2AClient, type A2AStreamEvent, isA2AClientError } from '@ensemble/a2a/client';
import { type PauseDetails, approvalRequiredMetadata, pauseDetails } from '@ensemble/approvals';
import { type Clock, type NodeRunOutcome, type NodeRunRequest, type NodeRunner, systemClock } from '@ensemble/dag';
import { type ApprovalRecord, EnsembleError, EnsembleMetadataKey, ErrorCode, OrchestratorMetadataKey, type ReplanSignal } from '@ensemble/protocol';
import { type Logger, chainSpanAttributes, inSpan, outputAttributes } from '@ensemble/telemetry';

import { AgentCallCollector } from './agent-call.js';
import { type AgentClients, type AgentDirectory, resolveAgent } from './agents.js';
import type { ProgressSink } from './events.js';

export interface NodeRunnerDeps {
  directory: AgentDirectory;
  clients: Pick<AgentClients, 'for'>;
  /** Session id: the A2A `contextId` of every agent call of the workflow. */
  sessionId: string;
  sink: ProgressSink;
  /** Called when a node's agent asked for the rest of the plan to be revised. */
  onReplan(nodeId: string, signal: ReplanSignal): void;
  logger: Logger;
  /** Waits between calls to an agent that cannot be reached (default: real time). */
  clock?: Clock;
  /** Jitter source in [0, 1) for those waits (default `Math.random`). */
  random?: () => number;
  /** Records an approval for a paused node (its id and fields go into the pause's context and event). */
  recordApproval?: (nodeId: string, agent: string, pause: PauseDetails) => Promise<ApprovalRecord>;
}

/** First wait before calling an unreachable agent again; doubles per try up to `UNREACHABLE_MAX_DELAY_MS`. */
const UNREACHABLE_FIRST_DELAY_MS = 250;
const UNREACHABLE_MAX_DELAY_MS = 2_000;

/**
 * Failures that prove the agent never saw the request (connection refused, a draining replica's 503,
 * its breaker open): repeating the call cannot run the work twice, so the runner waits for the agent
 * (a restart takes seconds) within the node's retry budget, without spending one of the node's attempts.
 */
export function isNotDelivered(error: unknown): boolean {
  return isA2AClientError(error) && error.notDelivered && (error.kind === 'unreachable' || error.kind === 'unavailable' || error.kind === 'circuit_open');
}

/** Wire codes of a definitive answer from the agent: repeating the same request would get the same answer. */
const DEFINITIVE_WIRE_CODES: ReadonlySet<string> = new Set(['agent_failed', 'agent_rejected', 'unknown_agent', 'unknown_skill']);
/** JSON-RPC codes of a request the agent refused as malformed (invalid request, method not found, invalid params). */
const MALFORMED_RPC_CODES: ReadonlySet<number> = new Set([-32600, -32601, -32602]);

/**
 * The engine's `isRetryable` for agent calls. Transient failures (unreachable, timeout, unavailable, a
 * stream cut before the task finished) are retried; a definitive answer is not: the task ended FAILED
 * or REJECTED with a reason, the agent refused the request as invalid or our credentials, or no agent
 * serves the node. The node's fallback agent still gets its turn.
 */
export function isRetryableNodeError(error: unknown): boolean {
  if (isA2AClientError(error)) {
    if (error.kind === 'unauthorized' || error.kind === 'task_failed' || error.kind === 'rejected') return false;
    if (error.kind === 'protocol' && error.rpcCode !== undefined && MALFORMED_RPC_CODES.has(error.rpcCode)) return false;
    return true;
  }
  if (error instanceof EnsembleError) {
    if (error.wireCode !== undefined && DEFINITIVE_WIRE_CODES.has(error.wireCode)) return false;
    return error.code !== ErrorCode.InvalidRequest && error.code !== ErrorCode.Unauthorized && error.code !== ErrorCode.Forbidden;
  }
  return true;
}

/** How long a best-effort cancellation of an agent's task may take. */
const CANCEL_TIMEOUT_MS = 5_000;

/**
 * The engine's `runNode`: one attempt of one node as one streaming A2A task on the node's agent (or
 * fallback), through the resilient client. Forwards the agent's progress attributed to agent and node,
 * returns its artifacts as the node's output, pauses on `auth-required`, and cancels the agent's task
 * when the attempt is aborted (timeout or cancellation), so no agent keeps working for nobody.
 */
export function createNodeRunner(deps: NodeRunnerDeps): NodeRunner {
  const runNode = createAgentCall(deps);
  // One CHAIN span per attempt: the agent's own AGENT span (in its process) hangs below it.
  return (request) =>
    inSpan(
      'dag.node',
      { attributes: { ...chainSpanAttributes({ input: request.input }), 'dag.node.id': request.node.id } },
      async (span) => {
        const outcome = await runNode(request);
        const agent = outcome.agent ?? request.agent;
        span.setAttributes({ 'dag.node.outcome': outcome.kind, ...(agent === null || agent === undefined ? {} : { 'agent.name': agent }) });
        if (outcome.kind === 'completed') span.setAttributes(outputAttributes(outcome.output));
        return outcome;
      },
    );
}

function createAgentCall(deps: NodeRunnerDeps): NodeRunner {
  return async (request: NodeRunRequest): Promise<NodeRunOutcome> => {
    const { node } = request;
    const info = resolveAgent(deps.directory, request.agent, request.agent === null ? node.skill : null);
    const client = await deps.clients.for(info);
    const resumeTask = request.approval !== null ? request.previous?.taskId ?? null : null;
    const message =
      resumeTask !== null && request.approval !== null
        ? approvalMessage({
            taskId: resumeTask,
            contextId: deps.sessionId,
            decision: request.approval.approved ? 'approve' : 'reject',
            ...(request.approval.comment === null ? {} : { comment: request.approval.comment }),
            ...(request.approval.arguments === undefined ? {} : { arguments: request.approval.arguments }),
          })
        : userMessage({ text: request.input, contextId: deps.sessionId, metadata: { [EnsembleMetadataKey.node]: node.id } });

    const clock = deps.clock ?? systemClock;
    const random = deps.random ?? Math.random;
    // Resumed after a crash while this node ran: reconnect to its agent task (it may have finished, or
    // still be working) rather than send the work again. The agent's own list is asked first: the crash
    // may have come after the agent created the task and before its id was persisted, or after a retry
    // started a newer task than the one recorded.
    const previous = request.previous;
    const resumed = request.approval === null && request.attempt === 1 && !request.fallback && previous?.status === 'running';
    let reconnectTo = resumed ? await findNodeTask(client, deps, node.id, request.input, request.signal) : null;
    if (reconnectTo === null && resumed && previous.taskId !== null && previous.agent === client.agent) reconnectTo = previous.taskId;
    for (let tries = 1; ; tries += 1) {
      if (request.signal.aborted) throw attemptAborted(node.id);
      const collector = new AgentCallCollector();
      const taskId = reconnectTo;
      try {
        if (taskId !== null) {
          deps.logger.info({ node: node.id, agent: client.agent, agent_task_id: taskId }, 'reconnecting to the agent task the node was running');
          return await callAgent(deps, request, client, (signal) => taskEvents(client, taskId, signal, node.timeoutMs), collector);
        }
        return await callAgent(deps, request, client, (signal) => client.stream(message, { signal, timeoutMs: node.timeoutMs }), collector);
      } catch (error) {
        if (taskId !== null && isA2AClientError(error, 'task_not_found')) {
          // The agent lost the task (a restart without a durable store): the work is sent again, visibly.
          reconnectTo = null;
          deps.logger.warn({ node: node.id, agent: client.agent, agent_task_id: taskId }, 'the agent no longer knows the node’s task; sending it again');
          deps.sink.progress({
            type: 'node_retrying',
            agent: client.agent,
            node: node.id,
            message: `Agent "${client.agent}" no longer knows task ${taskId}; sending the request again`,
            metadata: { reason: 'task_not_found', [OrchestratorMetadataKey.agentTaskId]: taskId },
          });
          continue;
        }
        if (request.signal.aborted || collector.taskId !== undefined || !isNotDelivered(error)) throw error;
        const base = Math.min(UNREACHABLE_FIRST_DELAY_MS * 2 ** (tries - 1), UNREACHABLE_MAX_DELAY_MS);
        const delayMs = Math.round(base * (0.5 + random() / 2));
        if (clock.now() + delayMs > request.deadline) throw error;
        deps.logger.warn({ node: node.id, agent: client.agent, try: tries, delay_ms: delayMs, err: error }, 'agent not reachable; waiting for it');
        deps.sink.progress({
          type: 'status',
          agent: client.agent,
          node: node.id,
          message: `Agent "${client.agent}" is not reachable; trying again in ${delayMs} ms`,
          metadata: { reason: isA2AClientError(error) ? error.kind : 'unreachable', delay_ms: delayMs, try: tries },
        });
        try {
          await clock.sleep(delayMs, request.signal);
        } catch {
          throw attemptAborted(node.id);
        }
      }
    }
  };
}

/** Tasks of one session an agent is asked for when looking for a node's task (one page). */
const NODE_TASK_LOOKUP_PAGE = 100;

/**
 * The agent task an earlier run of this node started, as the agent itself records it: in the session's
 * context (`ListTasks`), the task whose first message names the node and carries the same input. A
 * finished task wins (its result is taken as is), then the newest one still going; failed, canceled and
 * rejected ones are never picked (they call for a retry). `null` when none matches, or when the agent
 * cannot list its tasks (then the recorded task id, if any, is all there is).
 */
async function findNodeTask(client: A2AClient, deps: NodeRunnerDeps, nodeId: string, input: string, signal: AbortSignal): Promise<string | null> {
  let tasks: Task[];
  try {
    tasks = await client.listTasks(deps.sessionId, { signal, pageSize: NODE_TASK_LOOKUP_PAGE });
  } catch (error) {
    deps.logger.info({ node: nodeId, agent: client.agent, err: error }, 'could not list the agent’s tasks of the session; relying on the recorded task id');
    return null;
  }
  // The context is checked here too: an agent whose store ignores the filter must not lend this node
  // another session's task for the same node and input.
  const ofNode = tasks.filter((task) => {
    const first = firstUserMessage(task);
    return task.contextId === deps.sessionId && first !== undefined && first.metadata?.[EnsembleMetadataKey.node] === nodeId && partsText(first.parts) === input;
  });
  const usable = ofNode.filter((task) => task.status?.state === TaskState.TASK_STATE_COMPLETED || !isTerminalState(task.status?.state));
  const newest = (a: Task, b: Task) => (b.status?.timestamp ?? '').localeCompare(a.status?.timestamp ?? '');
  const chosen = usable.filter((task) => task.status?.state === TaskState.TASK_STATE_COMPLETED).sort(newest)[0] ?? usable.sort(newest)[0];
  return chosen?.id ?? null;
}

/**
 * The events of an agent task this node started before a crash: its current state (`GetTask`), then,
 * while it is still working, its live stream (`SubscribeToTask`). A finished task ends with the snapshot.
 */
async function* taskEvents(client: A2AClient, taskId: string, signal: AbortSignal, timeoutMs: number): AsyncGenerator<A2AStreamEvent, void, undefined> {
  const task = await client.getTask(taskId, { timeoutMs, signal });
  const state = task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
  const final = isTerminalState(state) || isInterruptedState(state);
  yield { kind: 'task', task, state, final };
  if (!final) yield* client.subscribe(taskId, { signal, timeoutMs });
}

/** One call of the node's agent: streams the task (`open`), forwarding progress, and reads how it ended. */
async function callAgent(
  deps: NodeRunnerDeps,
  request: NodeRunRequest,
  client: A2AClient,
  open: (signal: AbortSignal) => AsyncIterable<A2AStreamEvent>,
  collector: AgentCallCollector,
): Promise<NodeRunOutcome> {
  const { node } = request;
  // The agent's task id comes with its first event. An abort before it arrives keeps reading until it
  // does (at most CANCEL_TIMEOUT_MS), so the task can be canceled: cutting the stream at once would
  // leave the agent working for nobody.
  const stream = new AbortController();
  let cancelPending = false;
  let giveUp: NodeJS.Timeout | undefined;
  const cancelAgentTask = () => {
    if (collector.taskId !== undefined) {
      cancelQuietly(client, collector.taskId, deps.logger);
      stream.abort(request.signal.reason);
      return;
    }
    cancelPending = true;
    giveUp = setTimeout(() => stream.abort(request.signal.reason), CANCEL_TIMEOUT_MS);
  };
  request.signal.addEventListener('abort', cancelAgentTask, { once: true });
  try {
    let reported = false;
    for await (const event of open(stream.signal)) {
      const progress = collector.add(event);
      if (!reported && collector.taskId !== undefined) {
        reported = true;
        request.onAgentTask?.(client.agent, collector.taskId);
      }
      if (cancelPending) {
        if (collector.taskId === undefined) continue;
        cancelQuietly(client, collector.taskId, deps.logger);
        break;
      }
      if (progress !== undefined) {
        deps.sink.progress({
          ...progress,
          agent: client.agent,
          node: node.id,
          metadata: { ...progress.metadata, [OrchestratorMetadataKey.agentTaskId]: collector.taskId },
        });
      }
    }
  } finally {
    request.signal.removeEventListener('abort', cancelAgentTask);
    clearTimeout(giveUp);
    // Spent whatever became of the attempt (failed, retried, aborted): it counts toward the request.
    if (collector.usage !== undefined) deps.sink.usage(collector.usage);
  }
  // The engine has settled an aborted attempt already; what follows would only describe a cut stream.
  if (request.signal.aborted) throw attemptAborted(node.id);

  const end = collector.end;
  const taskId = collector.taskId ?? null;
  if (collector.replan !== undefined) deps.onReplan(node.id, collector.replan);
  switch (end?.kind) {
    case 'completed':
      return { kind: 'completed', output: collector.output(), agent: client.agent, taskId };
    case 'approval_required': {
      const approval = await deps.recordApproval?.(node.id, client.agent, pauseDetails(end.question, end.request, end.input === true));
      return {
        kind: 'approval_required',
        agent: client.agent,
        taskId,
        context: {
          question: end.question,
          agent: client.agent,
          [OrchestratorMetadataKey.agentTaskId]: taskId,
          ...(end.request === undefined ? {} : { approval_request: end.request }),
          ...(approval === undefined ? {} : approvalRequiredMetadata(approval)),
        },
      };
    }
    case 'rejected':
      // The agent (or the person it asked) declined: repeating the same request is pointless.
      throw new EnsembleError(ErrorCode.Forbidden, `Agent "${client.agent}" declined: ${end.reason}`, { wireCode: 'agent_rejected' });
    case 'failed':
      throw new EnsembleError(ErrorCode.UpstreamError, `Agent "${client.agent}" failed: ${end.reason}`, { wireCode: 'agent_failed' });
    case 'canceled':
      throw new EnsembleError(ErrorCode.UpstreamError, `Agent "${client.agent}" canceled the task: ${end.reason}`, { wireCode: 'agent_canceled' });
    case undefined:
      throw new EnsembleError(ErrorCode.UpstreamError, `Agent "${client.agent}" stopped streaming before its task finished`, { wireCode: 'stream_incomplete' });
  }
}

function attemptAborted(nodeId: string): EnsembleError {
  return new EnsembleError(ErrorCode.Cancelled, `Attempt of node "${nodeId}" was aborted`);
}

function cancelQuietly(client: A2AClient, taskId: string, logger: Logger): void {
  client.cancelTask(taskId, { timeoutMs: CANCEL_TIMEOUT_MS }).then(
    () => logger.info({ agent: client.agent, agent_task_id: taskId }, 'canceled agent task'),
    // Already final, or the agent is gone: either way nothing is left running for us.
    (error: unknown) => logger.debug({ agent: client.agent, agent_task_id: taskId, err: error }, 'agent task cancel failed'),
  );
}
