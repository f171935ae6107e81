import { type A2AClient, approvalMessage, userMessage } from '@ensemble/a2a';
import type { NodeRunOutcome, NodeRunRequest, NodeRunner } from '@ensemble/dag';
import { EnsembleError, ErrorCode, OrchestratorMetadataKey, type ReplanSignal } from '@ensemble/protocol';
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
          })
        : userMessage({ text: request.input, contextId: deps.sessionId, metadata: { 'ensemble.node': node.id } });

    if (request.signal.aborted) throw attemptAborted(node.id);
    const collector = new AgentCallCollector();
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
      for await (const event of client.stream(message, { signal: stream.signal, timeoutMs: node.timeoutMs })) {
        const progress = collector.add(event);
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
      case 'approval_required':
        return {
          kind: 'approval_required',
          agent: client.agent,
          taskId,
          context: {
            question: end.question,
            agent: client.agent,
            [OrchestratorMetadataKey.agentTaskId]: taskId,
            ...(end.request === undefined ? {} : { approval_request: end.request }),
          },
        };
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
  };
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
