/** `@ensemble/a2a/server`: the agent-service kit (what an agent process runs). */
export { APPROVALS_METADATA_KEY, KitExecutor, approvalPrompt, approvalQuestion, createAgentExecutor } from './executor.js';
export type {
  AgentContext,
  AgentDefinition,
  AgentInput,
  AgentResult,
  AgentRun,
  ApprovalOptions,
  ArtifactOptions,
  KitExecutorOptions,
} from './executor.js';
export { clientContextId, createAgentService } from './agent-service.js';
export type { AgentService, AgentServiceOptions, PushNotificationOptions } from './agent-service.js';
export { KitPushNotificationSender, PUSH_TOKEN_HEADER } from './push-sender.js';
export type { PushDeliveryOptions } from './push-sender.js';
export { checkPushUrl } from './push-url.js';
export type { HostResolver, PushUrlCheck, PushUrlPolicy, PushUrlRefusal, ResolvedAddress } from './push-url.js';
export type { ChunkCoalescingOptions } from './chunk-coalescer.js';
export { WriteBehindTaskStore, copyTask } from './write-behind-task-store.js';
export type { WriteBehindOptions } from './write-behind-task-store.js';
export { InMemoryPushNotificationStore, InMemoryTaskStore } from '@a2a-js/sdk/server';
export type { PushNotificationStore, TaskStore } from '@a2a-js/sdk/server';
