// The workflow runtime (`@ensemble/workflow/runtime`): admission, leases, resume, finish, the cancel relay
// and results (`Orchestrator`), one workflow's run (`runWorkflow`: plan, DAG, node runner, synthesis).
// A subpath of its own so that the event log (`@ensemble/workflow`) does not pull in A2A and the LLM client.
export { AgentCallCollector } from './agent-call.js';
export type { AgentCallEnd, AgentProgress } from './agent-call.js';
export { AgentClients, catalogOf, resolveAgent } from './agents.js';
export type { AgentClientsOptions, AgentDirectory } from './agents.js';
export { CancelRelay } from './cancel-relay.js';
export { LoggedSink, dagEventToProgress, excerpt, planSummary, progressMetadata, silentSink } from './events.js';
export type { EventMappingContext, PositionedPublisher, ProgressEvent, ProgressSink } from './events.js';
export { createNodeRunner, isNotDelivered, isRetryableNodeError } from './node-runner.js';
export type { NodeRunnerDeps } from './node-runner.js';
export { NodeResultWriter } from './node-writes.js';
export type { NodeResultWrite } from './node-writes.js';
export { Orchestrator } from './orchestrator.js';
export type { OrchestratorOptions } from './orchestrator.js';
export { revisionFromPlan } from './plan-revision.js';
export { planningConversation, replanResults, requestPlan } from './planner.js';
export type { PlannerDeps } from './planner.js';
export { RedisResultStore } from './results.js';
export type { ResultStore } from './results.js';
export { formatResults, missingResults, synthesisMessages, synthesize } from './synthesis.js';
export type { MissingResult, SynthesisRequest } from './synthesis.js';
export { DEFAULT_PROGRESS_FLUSH_MS, OrchestratorTaskStore } from './task-store.js';
export type { OrchestratorTaskStoreOptions } from './task-store.js';
export {
  APPROVAL_EXPIRED,
  DEFAULT_APPROVAL_TIMEOUT_SECONDS,
  DEFAULT_NODE_RETRY_BUDGET_MS,
  NODE_FAILED,
  REQUIRED_NODE_FAILED,
  describeFailures,
  rejectedNodes,
  runWorkflow,
  waitingNodes,
} from './workflow.js';
export type { WaitingNode, WorkflowDeps, WorkflowOutcome, WorkflowRun } from './workflow.js';
