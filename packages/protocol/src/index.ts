export { EnsembleError, ErrorCode, toEnsembleError, withoutAddresses } from './errors.js';
export type { EnsembleErrorOptions } from './errors.js';
export {
  ChatCompletionRequest,
  ChatMessage,
  ChatMessageContent,
  OpenAIErrorBodySchema,
  messageText,
  toOpenAIErrorBody,
} from './openai.js';
export type { OpenAIErrorBody } from './openai.js';
export { ClassifierVerdict, RoutingDecision, RoutingMode, RoutingPath, RoutingSource } from './routing.js';
export { ReasoningEvent, ReasoningEventType } from './reasoning-event.js';
export { WorkflowEvent, WorkflowTurnState } from './workflow-event.js';
export {
  ApprovalDecision,
  ConditionOperator,
  DagEvent,
  EXECUTION_PLAN_SCHEMA_NAME,
  ExecutionPlan,
  NODE_ID_PATTERN,
  NodeCondition,
  NodeError,
  NodeId,
  NodeResult,
  NodeStatus,
  PLAN_REVISION_SCHEMA_NAME,
  PlanNode,
  PlanRevision,
  RetryPolicy,
  WorkflowStatus,
} from './dag.js';
export type { DagEventType } from './dag.js';
export { FinalSessionStatus, FinishedWorkflow, Session, SessionPatch, SessionRecord, SessionRequest, SessionStatus, SessionTombstone } from './session.js';
export { McpHttpServerConfig, McpServerConfig, McpServerName, McpServersConfig, McpStdioServerConfig } from './mcp-config.js';
export { EnsembleMetadataKey } from './metadata-keys.js';
export { TokenUsage, sumTokenUsage } from './token-usage.js';
export type { TokenCounts, TokenTotals } from './token-usage.js';
export { AgentCardSummary, AgentSkillSummary } from './agent-card.js';
export { APPROVAL_TIMEOUT_DETAIL, ApprovalAnswer, ApprovalAnswerData, ApprovalRequest, ApprovalRequestData } from './a2a-approval.js';
export { Approval, ApprovalDecisionRequest, ApprovalEventType, ApprovalKind, ApprovalList, ApprovalRecord, ApprovalStatus, ApprovalWebhookEvent, ApprovalWebhookHeader, toApprovalView } from './approval.js';
export { ChatCompletionChunk, ChatCompletionResponse, ModelList } from './openai-responses.js';
export { HealthReport, ReadinessCheckResult, ReadinessReport } from './health.js';
export {
  PLANNER_PROMPT_SECTIONS,
  PLANNING_SKILL_ID,
  PLAN_ARTIFACT_NAME,
  PlanningConversationTurn,
  PlanningNodeOutcome,
  PlanningRequest,
  PlanningRequestData,
  PlanningResult,
  ReplanRequest,
} from './planning.js';
export { ORCHESTRATOR_SERVICE, OrchestratorCommand, OrchestratorMetadataKey, OrchestratorRpcError, ReplanSignal, ReplanSignalData } from './orchestrator.js';
export { EmbeddingObject, EmbeddingRequest, EmbeddingResponse } from './openai-embeddings.js';
export {
  DOCUMENT_RETRIEVAL_SKILL_ID,
  IngestDocument,
  IngestDocumentResult,
  IngestRequest,
  IngestResponse,
  RAG_PROMPT_SECTIONS,
  RAG_SOURCES_ARTIFACT_NAME,
  RagSource,
  RagSourcesResult,
  RetrievalFilter,
  RetrievalRequest,
  RetrievalRequestData,
  SourceLocation,
} from './rag.js';
export { SessionApprovalView, SessionCancelResult, SessionList, SessionNodeView, SessionPlanNodeView, SessionView } from './session-api.js';
export { ROUTING_DECISION_HEADER, ROUTING_MODE_HEADER, SESSION_ID_HEADER, SKIP_ORCHESTRATION_HEADER } from './headers.js';
