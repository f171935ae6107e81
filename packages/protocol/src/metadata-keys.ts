/**
 * Metadata keys Ensemble puts on A2A messages, tasks, status updates and artifact updates. Producers
 * (the orchestrator, agents) set them; the OpenAI translator and the orchestrator read them. They are
 * namespaced so they never collide with another extension's metadata.
 */
export const EnsembleMetadataKey = {
  /** Name of the agent that produced the event (`string`). Used to attribute reasoning events. */
  agent: 'ensemble.agent',
  /** DAG node id the event belongs to (`string`). */
  node: 'ensemble.node',
  /** Step number within the plan (`non-negative integer`). */
  step: 'ensemble.step',
  /** An explicit `ReasoningEvent` to show the client, overriding the one derived from the event. */
  reasoningEvent: 'ensemble.reasoningEvent',
  /**
   * Token usage of the task's current turn so far, OpenAI-shaped (`TokenUsage`): every LLM call the
   * agent made for this request (and, for the orchestrator, every call of the agents it used). A running
   * total: the latest value seen wins, so repeating it (on a status update and again on the final state)
   * never double-counts. The agent kit puts it on the final (or interrupted) status update.
   */
  usage: 'ensemble.usage',
  /** On a request message: the OpenAI request options (everything but `messages`). */
  openaiRequest: 'ensemble.openai.request',
  /**
   * Position of the event in the session's event log (`positive integer`): the one numbering of a
   * workflow's events, carried on the orchestrator's status and artifact updates. The gateway writes it
   * as the SSE `id:`; a client resumes after it with `Last-Event-ID`.
   */
  position: 'ensemble.position',
  /** On a part: what the part carries. The conversation part is marked `openai.messages`. */
  partKind: 'ensemble.partKind',
  /**
   * On a task paused for approval: the answers given so far, by approval key (`ApprovalAnswer`), so a
   * resumed run (on any replica, after a restart) finds the decisions its earlier run asked for.
   */
  approvals: 'ensemble.approvals',
} as const;
export type EnsembleMetadataKey = (typeof EnsembleMetadataKey)[keyof typeof EnsembleMetadataKey];
