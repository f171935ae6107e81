/**
 * `@ensemble/a2a`: what both sides of A2A share (Agent Cards, parts, approvals over A2A, the settings
 * every agent reads). Calling agents is `@ensemble/a2a/client`; serving one is `@ensemble/a2a/server`;
 * Redis stores are `@ensemble/a2a/redis`.
 */
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
  firstUserMessage,
  isInterruptedState,
  isTerminalState,
  partsData,
  partsText,
  taskStateName,
  textPart,
  userMessage,
} from './parts.js';
export type { MessageInput, TaskStateName } from './parts.js';
export { AgentServiceSettings, DEFAULT_A2A_MAX_BODY_BYTES } from './settings.js';
