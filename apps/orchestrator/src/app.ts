import { type AgentService, type PushNotificationOptions, type TaskStore, createAgentService } from '@ensemble/a2a/server';
import { ORCHESTRATOR_SERVICE } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';
import type { ReadinessCheck } from '@ensemble/service';
import {
  type AgentClients,
  type AgentDirectory,
  type CancelRelay,
  Orchestrator,
  type OrchestratorOptions,
  OrchestratorTaskStore,
  type ResultStore,
  type WorkflowDeps,
} from '@ensemble/workflow/runtime';

export interface OrchestratorAppDeps extends Omit<WorkflowDeps, 'results' | 'directory' | 'clients'> {
  directory: AgentDirectory;
  clients: AgentClients;
  results: ResultStore;
  /** Where the orchestrator's own A2A tasks live (Redis in deployments, so approvals survive restarts). */
  taskStore: TaskStore;
  /** What `/ready` verifies besides draining (Redis, the LLM, the database). */
  readiness?: readonly ReadinessCheck[];
  relay: CancelRelay | undefined;
  logger: Logger;
  authTokens: readonly string[];
  publicUrl: string | undefined;
  leaseMs: number;
  resumeScanMs: number;
  maxBackgroundResumes: number;
  /** Every session's event log (Redis Streams in deployments; see `OrchestratorOptions.events`). */
  events?: OrchestratorOptions['events'];
  finishedEventLogTtlMs?: number;
  shutdownGraceMs: number;
  /** Largest A2A request body (`A2A_MAX_BODY_BYTES`); the gateway sizes what it forwards by the same setting. */
  maxBodyBytes?: number;
  /** A2A push notifications: where configs live, and whether private-network webhooks are allowed. */
  pushNotifications?: PushNotificationOptions;
}

export interface OrchestratorApp {
  service: AgentService;
  orchestrator: Orchestrator;
}

/** The orchestrator as an A2A service (wiring only; the logic is in `Orchestrator` and `runWorkflow`). */
export function createOrchestratorApp(deps: OrchestratorAppDeps): OrchestratorApp {
  const taskStore = new OrchestratorTaskStore(deps.taskStore, { logger: deps.logger });
  const orchestrator = new Orchestrator({ ...deps, taskStore, agentName: ORCHESTRATOR_SERVICE });
  const service = createAgentService({
    card: {
      name: ORCHESTRATOR_SERVICE,
      description:
        'Plans a complex request as a DAG of agent calls (through the planning agent), runs it with parallel branches, retries, fallbacks, re-planning and human approval, keeps the workflow durable in Redis, and streams progress and a synthesised answer.',
      skills: [
        {
          id: 'multi-agent-orchestration',
          name: 'Multi-agent orchestration',
          description:
            'Answers a complex, multi-part request by coordinating several specialised agents: plans the work, executes independent parts in parallel, and writes one answer from their results. Continue a session by sending its id as contextId.',
          tags: ['orchestration', 'planning', 'multi-agent', 'workflow'],
          examples: ['Compare the weather in Paris and Rome and suggest where to go this weekend', 'Research the topic, summarise the sources and draft a report'],
        },
      ],
    },
    executor: orchestrator.executor,
    taskStore,
    readiness: deps.readiness,
    logger: deps.logger,
    auth: { tokens: deps.authTokens },
    publicUrl: deps.publicUrl,
    shutdownGraceMs: deps.shutdownGraceMs,
    maxBodyBytes: deps.maxBodyBytes,
    pushNotifications: deps.pushNotifications,
  });
  return { service, orchestrator };
}
