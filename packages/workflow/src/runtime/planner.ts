import { userMessage } from '@ensemble/a2a';
import {
  type ChatMessage,
  EnsembleError,
  ErrorCode,
  type ExecutionPlan,
  type NodeResult,
  PLANNING_SKILL_ID,
  type PlanningConversationTurn,
  type PlanningRequest,
  PlanningResult,
  messageText,
} from '@ensemble/protocol';

import { AgentCallCollector } from './agent-call.js';
import { type AgentClients, type AgentDirectory, resolveAgent } from './agents.js';
import type { ProgressSink } from './events.js';

export interface PlannerDeps {
  directory: AgentDirectory;
  clients: AgentClients;
  sink: ProgressSink;
  sessionId: string;
  timeoutMs: number;
}

/** Longest node output sent back to the planner when revising (the planner needs the gist, not all of it). */
const REPLAN_OUTPUT_CHARS = 2_000;

/** The conversation as the planner takes it: text turns of people and the assistant, for context only. */
export function planningConversation(messages: readonly ChatMessage[]): PlanningConversationTurn[] {
  const turns: PlanningConversationTurn[] = [];
  for (const message of messages) {
    if (message.role !== 'system' && message.role !== 'user' && message.role !== 'assistant') continue;
    const content = messageText(message.content);
    if (content !== '') turns.push({ role: message.role, content });
  }
  return turns;
}

/** What the planner is told about the plan so far when asked to revise it. */
export function replanResults(plan: ExecutionPlan, results: Readonly<Record<string, NodeResult>>): Record<string, { status: NodeResult['status']; output: string | null }> {
  const outcomes: Record<string, { status: NodeResult['status']; output: string | null }> = {};
  for (const node of plan.nodes) {
    const result = results[node.id];
    if (result === undefined || result.status === 'pending') continue;
    outcomes[node.id] = { status: result.status, output: result.output === null ? null : result.output.slice(0, REPLAN_OUTPUT_CHARS) };
  }
  return outcomes;
}

/**
 * Asks the planning agent (found by skill `workflow-planning`) for a plan or a revision, streaming its
 * progress to the client, and returns its `PlanningResult` data artifact, validated.
 */
export async function requestPlan(deps: PlannerDeps, request: PlanningRequest, signal: AbortSignal): Promise<PlanningResult> {
  const client = await deps.clients.for(resolveAgent(deps.directory, null, PLANNING_SKILL_ID));
  const collector = new AgentCallCollector();
  const message = userMessage({ text: request.request, data: { planningRequest: request }, contextId: deps.sessionId });
  try {
    for await (const event of client.stream(message, { signal, timeoutMs: deps.timeoutMs })) {
      const progress = collector.add(event);
      if (progress !== undefined) deps.sink.progress({ ...progress, agent: client.agent });
    }
  } finally {
    // The planner's LLM calls (re-asks included) count toward the request, whatever the outcome.
    if (collector.usage !== undefined) deps.sink.usage(collector.usage);
  }
  const end = collector.end;
  if (end?.kind !== 'completed') {
    const why = end === undefined ? 'stopped streaming before finishing' : end.kind === 'approval_required' ? 'asked for input' : end.reason;
    throw new EnsembleError(ErrorCode.UpstreamError, `The planning agent "${client.agent}" could not plan this request: ${why}`, { wireCode: 'planning_failed' });
  }
  for (const data of collector.data()) {
    const parsed = PlanningResult.safeParse(data);
    if (parsed.success) return parsed.data;
  }
  throw new EnsembleError(ErrorCode.UpstreamError, `The planning agent "${client.agent}" answered without a valid plan artifact`, { wireCode: 'planning_failed' });
}
