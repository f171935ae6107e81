export { approvalMessage, readApprovalAnswer, readApprovalRequest } from './approval.js';
export {
  AGENT_CARD_PATH,
  BEARER_SCHEME,
  JSONRPC_PATH,
  REST_PATH,
  agentCardToJson,
  buildAgentCard,
  parseAgentCard,
  toLegacyAgentCardJson,
} from './card.js';
export type { AgentCardSpec, AgentSkillSpec, CardEndpoints } from './card.js';
export { PrincipalUser } from './principal-user.js';
export {
  agentMessage,
  dataPart,
  isInterruptedState,
  isTerminalState,
  partsData,
  partsText,
  taskStateName,
  textPart,
  userMessage,
} from './parts.js';
export type { MessageInput, TaskStateName } from './parts.js';
export { APPROVALS_METADATA_KEY, KitExecutor, approvalPrompt, createAgentExecutor } from './server/executor.js';
export type {
  AgentContext,
  AgentDefinition,
  AgentInput,
  AgentResult,
  AgentRun,
  ApprovalOptions,
  ArtifactOptions,
  KitExecutorOptions,
} from './server/executor.js';
export { clientContextId, createAgentService } from './server/agent-service.js';
export type { AgentService, AgentServiceOptions, PushNotificationOptions } from './server/agent-service.js';
export { KitPushNotificationSender, PUSH_TOKEN_HEADER } from './server/push-sender.js';
export type { PushDeliveryOptions } from './server/push-sender.js';
export { checkPushUrl } from './server/push-url.js';
export type { HostResolver, PushUrlCheck, PushUrlPolicy, PushUrlRefusal, ResolvedAddress } from './server/push-url.js';
export type { ChunkCoalescingOptions } from './server/chunk-coalescer.js';
export { WriteBehindTaskStore } from './server/write-behind-task-store.js';
export type { WriteBehindOptions } from './server/write-behind-task-store.js';
export { InMemoryPushNotificationStore, InMemoryTaskStore } from '@a2a-js/sdk/server';
export type { PushNotificationStore, TaskStore } from '@a2a-js/sdk/server';
export { A2AClientError, isA2AClientError } from './client/errors.js';
export type { A2AClientErrorOptions, A2AFailureKind } from './client/errors.js';
export { agentCircuitState, resetAgentBreakers } from './client/resilience.js';
export type { AgentCircuitState, BreakerOptions, RetryOptions } from './client/resilience.js';
export { createA2AClient, fetchAgentCard } from './client/a2a-client.js';
export type { A2AClient, A2AClientOptions, A2AStreamEvent, CallOptions, StreamOptions } from './client/a2a-client.js';
export { AgentRegistry } from './discovery/agent-registry.js';
export type {
  AgentInfo,
  AgentRegistryOptions,
  AgentSkillCatalogEntry,
  AgentStatus,
  AgentStatusChange,
  AgentStatusListener,
  SkillMatch,
} from './discovery/agent-registry.js';
export { agentList, agentsRoute } from './discovery/agents-route.js';
export type { AgentList, AgentListItem } from './discovery/agents-route.js';
export { InMemoryAgentCardCache } from './discovery/card-cache.js';
export type { AgentCardCache, CachedAgentCard } from './discovery/card-cache.js';
export { AgentServiceSettings, DEFAULT_A2A_MAX_BODY_BYTES } from './settings.js';
