/**
 * HTTP headers of Ensemble's wire contract with clients (the gateway reads or writes each; the README
 * documents them). One place, so a rename cannot leave a reader and a writer disagreeing.
 */

/** Forces a route: `passthrough` or `orchestration` (`RoutingMode`). */
export const ROUTING_MODE_HEADER = 'X-Routing-Mode';
/** `true` keeps a request on the passthrough path (the opt-out some clients already send). */
export const SKIP_ORCHESTRATION_HEADER = 'X-Skip-Orchestration';
/** Names an orchestration session: a follow-up (resume, re-attach, approval answer) on a workflow. */
export const SESSION_ID_HEADER = 'X-Session-ID';
/** On every chat answer: the route taken, by which stage, and why. */
export const ROUTING_DECISION_HEADER = 'X-Routing-Decision';
