import { z } from 'zod';

/**
 * The orchestrator's A2A contract beyond plain A2A (see `apps/orchestrator/README.md`): metadata keys
 * its callers and agents set, the command data part, the re-planning signal agents may send, and the
 * JSON-RPC error codes it answers with (the gateway maps them to HTTP statuses).
 */

/**
 * The orchestrator's name: its Agent Card's, and the service its replicas announce themselves under in
 * the replica registry (where gateways find them).
 */
export const ORCHESTRATOR_SERVICE = 'orchestrator';

export const OrchestratorMetadataKey = {
  /**
   * On a request message: the end user's identity (the gateway's principal). Trusted only from callers
   * that authenticated with one of the orchestrator's `AGENT_AUTH_TOKENS`; sessions are owned by it.
   */
  principal: 'ensemble.principal',
  /**
   * On a request message: `true` when the caller continues a session (its `contextId`). An unknown
   * session is then refused (`sessionNotFound`) instead of starting a new one.
   */
  resume: 'ensemble.resume',
  /**
   * On a request message: `true` when it only wakes a session whose approvals were decided elsewhere
   * (the approvals API, an expiry). Any approval answer it carries just continues the paused task; the
   * decisions are the recorded ones.
   */
  wake: 'ensemble.wake',
  /** On an agent's status update, artifact or artifact update: `{ reason }`, asks for re-planning. */
  replan: 'ensemble.replan',
  /** On a reasoning event's metadata: the A2A task id of the agent call behind a node. */
  agentTaskId: 'agent_task_id',
  /**
   * On the orchestrator's own task: `{ id, owner }`, the session the task works on, so a cancel
   * that arrives at another replica can find and relay it.
   */
  session: 'ensemble.session',
} as const;

/** What an agent sends to ask for the rest of the plan to be revised after its node. */
export const ReplanSignal = z.object({ reason: z.string().min(1).max(2_000) });
export type ReplanSignal = z.infer<typeof ReplanSignal>;

/** The data-part form of the re-planning signal (an artifact or status message data part). */
export const ReplanSignalData = z.object({ replan: ReplanSignal });
export type ReplanSignalData = z.infer<typeof ReplanSignalData>;

/**
 * A control message for an existing session (data part, message `contextId` = session id):
 * `cancel` aborts the session wherever it runs, cancels its agents' tasks and deletes it.
 */
export const OrchestratorCommand = z.object({ command: z.enum(['cancel']) });
export type OrchestratorCommand = z.infer<typeof OrchestratorCommand>;

/**
 * JSON-RPC `error.code`s of the orchestrator's own refusals (implementation-defined server errors, in the
 * range JSON-RPC reserves for them, away from the A2A codes -32001..-32009). `error.data[0]` is a
 * `google.rpc.ErrorInfo` whose `metadata` carries `http_status`, `code` and `session_id`.
 */
export const OrchestratorRpcError = {
  /** Another request is working on this session right now (HTTP 409). */
  sessionBusy: -32040,
  /** No such session for this caller: never existed, expired, or another caller's (HTTP 404). */
  sessionNotFound: -32041,
  /** The message is not valid for the session's state, e.g. no approval is pending (HTTP 400). */
  invalidSessionRequest: -32042,
  /** Session storage (Redis) is failing; retry later (HTTP 503). */
  unavailable: -32043,
} as const;
export type OrchestratorRpcError = (typeof OrchestratorRpcError)[keyof typeof OrchestratorRpcError];
