import {
  type ChatCompletionRequest,
  EnsembleError,
  ErrorCode,
  type RoutingDecision,
  ROUTING_MODE_HEADER,
  RoutingMode,
  SESSION_ID_HEADER,
  SKIP_ORCHESTRATION_HEADER,
} from '@ensemble/protocol';

/** Reads one request header by name (case-insensitive), `undefined` when absent. */
export type HeaderLookup = (name: string) => string | undefined;


const TRUE_VALUES = new Set(['true', '1', 'yes', 'on']);
const FALSE_VALUES = new Set(['false', '0', 'no', 'off']);

/**
 * The deterministic part of routing: explicit headers and request features that settle the path
 * without asking the classifier. Returns `undefined` when the classifier has to decide.
 *
 * Precedence, and why:
 * 1. Malformed routing headers are a 400: a client that asks for something explicitly must learn that
 *    we did not understand it, rather than silently getting the default.
 * 2. Contradictory instructions (`X-Routing-Mode: orchestration` together with `X-Skip-Orchestration`,
 *    or with client-side `tools` / structured output) are a 400 too: the orchestrator neither returns
 *    tool calls to the client nor guarantees the client's JSON schema, so no honest answer exists.
 * 3. An explicit opt-out (`X-Skip-Orchestration: true`, `X-Routing-Mode: passthrough`) wins.
 * 4. `tools` / `functions` / a JSON `response_format` mean the client drives the model itself: passthrough.
 * 5. `X-Routing-Mode: orchestration` forces the orchestrator.
 * 6. `X-Session-ID` names a workflow, so the turn belongs to it (a resume, or an approval answer like
 *    "approve" that a classifier would call a simple question); explicit opt-outs above still win, and
 *    the id is then only echoed.
 * 7. Otherwise (`auto` or nothing) the classifier decides.
 */
export function decideByRules(request: ChatCompletionRequest, header: HeaderLookup): RoutingDecision | undefined {
  const mode = parseRoutingMode(header(ROUTING_MODE_HEADER));
  const skip = parseSkipOrchestration(header(SKIP_ORCHESTRATION_HEADER));
  const clientFeature = clientControlledFeature(request);

  if (mode === 'orchestration' && skip === true) {
    throw conflict(`${ROUTING_MODE_HEADER}: orchestration contradicts ${SKIP_ORCHESTRATION_HEADER}: true`, ROUTING_MODE_HEADER);
  }
  if (mode === 'orchestration' && clientFeature !== undefined) {
    throw conflict(
      `${ROUTING_MODE_HEADER}: orchestration cannot be combined with '${clientFeature}': the orchestrator does not hand tool calls or structured output back to the client`,
      clientFeature,
    );
  }
  if (skip === true) {
    return { path: 'passthrough', source: 'header', reason: `${SKIP_ORCHESTRATION_HEADER}: true` };
  }
  if (mode === 'passthrough') {
    return { path: 'passthrough', source: 'header', reason: `${ROUTING_MODE_HEADER}: passthrough` };
  }
  if (clientFeature !== undefined) {
    return { path: 'passthrough', source: 'rule', reason: `request sets '${clientFeature}': the client drives the model directly` };
  }
  if (mode === 'orchestration') {
    return { path: 'orchestration', source: 'header', reason: `${ROUTING_MODE_HEADER}: orchestration` };
  }
  const sessionId = header(SESSION_ID_HEADER);
  if (sessionId !== undefined && sessionId.trim() !== '') {
    return { path: 'orchestration', source: 'header', reason: `${SESSION_ID_HEADER} names a workflow session` };
  }
  return undefined;
}

/** `X-Routing-Mode`, case-insensitive; `undefined` when absent or empty. Throws a 400 for other values. */
export function parseRoutingMode(value: string | undefined): RoutingMode | undefined {
  const normalized = value?.trim().toLowerCase();
  if (normalized === undefined || normalized === '') return undefined;
  const parsed = RoutingMode.safeParse(normalized);
  if (parsed.success) return parsed.data;
  throw new EnsembleError(
    ErrorCode.InvalidRequest,
    `Invalid ${ROUTING_MODE_HEADER} header ${JSON.stringify(truncate(value ?? ''))}: expected one of ${RoutingMode.options.join(', ')}`,
    { details: { param: ROUTING_MODE_HEADER }, wireCode: 'invalid_routing_mode' },
  );
}

/** `X-Skip-Orchestration` as a boolean (`true/false/1/0/yes/no/on/off`); throws a 400 for other values. */
export function parseSkipOrchestration(value: string | undefined): boolean | undefined {
  const normalized = value?.trim().toLowerCase();
  if (normalized === undefined || normalized === '') return undefined;
  if (TRUE_VALUES.has(normalized)) return true;
  if (FALSE_VALUES.has(normalized)) return false;
  throw new EnsembleError(
    ErrorCode.InvalidRequest,
    `Invalid ${SKIP_ORCHESTRATION_HEADER} header ${JSON.stringify(truncate(value ?? ''))}: expected true or false`,
    { details: { param: SKIP_ORCHESTRATION_HEADER }, wireCode: 'invalid_routing_header' },
  );
}

/**
 * The request field that shows the client is steering the model itself, if any. `response_format`
 * of type `text` is the default behaviour and does not count; neither do empty tool lists.
 */
export function clientControlledFeature(request: ChatCompletionRequest): string | undefined {
  if (request.tools !== undefined && request.tools.length > 0) return 'tools';
  // The legacy `functions` field is not in the typed schema but is passed through, so it still counts.
  const functions = request['functions'];
  if (Array.isArray(functions) && functions.length > 0) return 'functions';
  if (request.response_format !== undefined && request.response_format.type !== 'text') return 'response_format';
  return undefined;
}

function conflict(message: string, param: string): EnsembleError {
  return new EnsembleError(ErrorCode.InvalidRequest, message, { details: { param }, wireCode: 'conflicting_routing_options' });
}

function truncate(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}…` : value;
}
