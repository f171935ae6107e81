/** `@ensemble/a2a/client`: calling agents (resilient client, errors, breakers) and discovering them. */
export { A2AClientError, isA2AClientError } from './errors.js';
export type { A2AClientErrorOptions, A2AFailureKind } from './errors.js';
export { agentCircuitState, resetAgentBreakers } from './resilience.js';
export type { AgentCircuitState, BreakerOptions, RetryOptions } from './resilience.js';
export { createA2AClient, fetchAgentCard } from './a2a-client.js';
export type { A2AClient, A2AClientOptions, A2AStreamEvent, CallOptions, StreamOptions } from './a2a-client.js';
export { AgentRegistry } from '../discovery/agent-registry.js';
export type {
  AgentInfo,
  AgentRegistryOptions,
  AgentSkillCatalogEntry,
  AgentStatus,
  AgentStatusChange,
  AgentStatusListener,
  SkillMatch,
} from '../discovery/agent-registry.js';
export { agentList, agentsRoute } from '../discovery/agents-route.js';
export type { AgentList, AgentListItem } from '../discovery/agents-route.js';
export { InMemoryAgentCardCache } from '../discovery/card-cache.js';
export type { AgentCardCache, CachedAgentCard } from '../discovery/card-cache.js';
export { InMemoryReplicaRegistry, announceReplica, watchReplicas } from '../discovery/replica-registry.js';
export type { AnnounceOptions, ReplicaRegistry, ReplicaWatch, WatchReplicasOptions } from '../discovery/replica-registry.js';
