import { Writable } from 'node:stream';

import type { TaskState } from '@a2a-js/sdk';
import { type A2AClient, type A2AStreamEvent, createA2AClient } from '@ensemble/a2a/client';
import { type AgentService, createAgentService } from '@ensemble/a2a/server';
import { EnsembleMetadataKey, chatRequestToA2AMessage, readReasoningEvent } from '@ensemble/openai-a2a';
import {
  type ExecutionPlan,
  OrchestratorMetadataKey,
  PLAN_ARTIFACT_NAME,
  PLANNING_SKILL_ID,
  type PlanNode,
  type PlanningRequest,
  PlanningRequestData,
  type PlanningResult,
  type ReasoningEvent,
} from '@ensemble/protocol';
import { createLogger } from '@ensemble/telemetry';


/**
 * Test and benchmark helpers: a scripted planning agent (in-process A2A service), mock agents and an
 * orchestrator as real processes, and a client that reads the orchestrator's stream into the facts
 * tests assert on. Not part of the service.
 */

export function quietLogger() {
  return createLogger({ service: 'orchestrator-test', destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }) });
}

/** A plan node with test defaults (no retry, 30 s timeout). */
export function planNode(id: string, agent: string, input: string, extra: Partial<PlanNode> = {}): PlanNode {
  return {
    id,
    agent,
    skill: null,
    input,
    dependsOn: [],
    condition: null,
    retry: { maxAttempts: 1, backoffMs: 0 },
    timeoutMs: 30_000,
    fallbackAgent: null,
    description: `step ${id}`,
    ...extra,
  };
}

export function plan(...nodes: PlanNode[]): ExecutionPlan {
  return { goal: 'test goal', rationale: 'test rationale', nodes };
}

/** What the scripted planner answers: a plan for the first call, a revision for re-planning calls. */
export interface PlannerScript {
  plan: ExecutionPlan;
  /** Nodes added when a node asks for re-planning. */
  onReplan?: PlanNode[];
}

export interface ScriptedPlanner {
  service: AgentService;
  url: string;
  /** Scripts by scenario tag: a request `"[tag] ..."` is planned with `scripts[tag]`. */
  scripts: Map<string, PlannerScript>;
  /** Every planning request received, in order. */
  requests: PlanningRequest[];
  stop(): Promise<void>;
}

/** A planning agent (skill `workflow-planning`) that answers from scripts instead of an LLM. */
export async function startScriptedPlanner(): Promise<ScriptedPlanner> {
  const scripts = new Map<string, PlannerScript>();
  const requests: PlanningRequest[] = [];
  const service = createAgentService({
    card: {
      name: 'test-planner',
      description: 'Scripted planner for tests',
      skills: [{ id: PLANNING_SKILL_ID, name: 'Workflow planning', description: 'Returns scripted plans', tags: ['planning'], examples: ['plan this'] }],
    },
    logger: quietLogger(),
    executor: async (input, ctx) => {
      const data = input.data.map((item) => PlanningRequestData.safeParse(item)).find((parsed) => parsed.success)?.data;
      const request: PlanningRequest = data?.planningRequest ?? { request: input.text };
      requests.push(request);
      const tag = /^\[([\w-]+)\]/.exec(request.request)?.[1] ?? '';
      const script = scripts.get(tag);
      if (script === undefined) return ctx.fail(`no script for "${tag}"`);
      let result: PlanningResult;
      if (request.replan === undefined) {
        result = { plan: script.plan, revision: null, attempts: 1 };
      } else {
        const added = script.onReplan ?? [];
        result = {
          plan: { ...request.replan.plan, nodes: [...request.replan.plan.nodes, ...added] },
          revision: { reason: request.replan.reason, skipNodes: [], addNodes: added, updateNodes: [] },
          attempts: 1,
        };
      }
      ctx.status('Planning (scripted)');
      ctx.dataArtifact({ ...result }, { name: PLAN_ARTIFACT_NAME });
      return `Plan with ${result.plan.nodes.length} nodes`;
    },
  });
  const running = await service.start({ host: '127.0.0.1', port: 0 });
  return { service, url: running.url, scripts, requests, stop: () => service.stop(1_000) };
}

/** What one orchestrator stream came to. */
export interface TurnTranscript {
  taskId: string | undefined;
  /** The session id (the first event's `contextId`). */
  sessionId: string | undefined;
  firstEventContextId: string | undefined;
  events: ReasoningEvent[];
  answer: string;
  answerChunks: number;
  finalState: TaskState | undefined;
  /** Text of the final (or interrupted) status message. */
  finalText: string;
  finalData: Record<string, unknown>[];
}

export function emptyTranscript(): TurnTranscript {
  return { taskId: undefined, sessionId: undefined, firstEventContextId: undefined, events: [], answer: '', answerChunks: 0, finalState: undefined, finalText: '', finalData: [] };
}

/** Reads one orchestrator stream event into the transcript. */
export function record(transcript: TurnTranscript, event: A2AStreamEvent): void {
  if (transcript.firstEventContextId === undefined) {
    transcript.firstEventContextId = event.kind === 'task' ? event.task.contextId : event.kind === 'message' ? event.message.contextId : event.contextId;
  }
  switch (event.kind) {
    case 'task':
      transcript.taskId = event.task.id;
      transcript.sessionId = event.task.contextId;
      return;
    case 'status': {
      transcript.taskId ??= event.taskId;
      transcript.sessionId ??= event.contextId;
      const reasoning = readReasoningEvent(event.event.metadata);
      if (reasoning !== undefined) {
        const agent: unknown = event.event.metadata?.[EnsembleMetadataKey.agent];
        expectString(agent, reasoning.agent);
        transcript.events.push(reasoning);
      }
      if (event.final) {
        transcript.finalState = event.state;
        transcript.finalText = event.text;
        transcript.finalData = event.data;
      }
      return;
    }
    case 'artifact':
      transcript.answer += event.text;
      transcript.answerChunks += 1;
      return;
    case 'message':
      transcript.answer += event.text;
  }
}

/** The event's attribution metadata and the event's own `agent` must agree (the gateway reads either). */
function expectString(metadataAgent: unknown, eventAgent: string | undefined): void {
  if (eventAgent !== undefined && metadataAgent !== eventAgent) throw new Error(`attribution mismatch: ${String(metadataAgent)} vs ${eventAgent}`);
}

export interface OrchestratorClient {
  client: A2AClient;
  /** Sends a request (or a follow-up) and reads its stream to the end; `onEvent` sees events as they come. */
  send(input: { text?: string; sessionId?: string; taskId?: string; data?: Record<string, unknown>; resume?: boolean; principal?: string }, onEvent?: (transcript: TurnTranscript, event: A2AStreamEvent) => void): Promise<TurnTranscript>;
}

export async function orchestratorClient(url: string, token: string): Promise<OrchestratorClient> {
  const client = await createA2AClient({ url, token, timeoutMs: 60_000, retry: false, breaker: false });
  return {
    client,
    async send(input, onEvent) {
      const message = chatRequestToA2AMessage(
        { model: 'sim-model', messages: [{ role: 'user', content: input.text ?? 'continue' }] },
        {
          ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
          ...(input.taskId === undefined ? {} : { taskId: input.taskId }),
          metadata: { [OrchestratorMetadataKey.principal]: input.principal ?? 'user-1', ...(input.resume === true ? { [OrchestratorMetadataKey.resume]: true } : {}) },
        },
      );
      if (input.data !== undefined) message.parts.push({ content: { $case: 'data', value: input.data }, metadata: undefined, filename: '', mediaType: 'application/json' });
      const transcript = emptyTranscript();
      for await (const event of client.stream(message)) {
        record(transcript, event);
        onEvent?.(transcript, event);
      }
      return transcript;
    },
  };
}
