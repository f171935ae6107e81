import { DEFAULT_A2A_MAX_BODY_BYTES } from '@ensemble/a2a';
import { type AgentRegistry, agentsRoute } from '@ensemble/a2a/client';
import { ChatCompletionRequest, EnsembleError, ErrorCode, type HealthReport, ROUTING_DECISION_HEADER } from '@ensemble/protocol';
import { type RouteInput, type Router, formatRoutingDecisionHeader } from '@ensemble/routing';
import { DEFAULT_MAX_BODY_BYTES, type NodeLane, type ReadinessCheck, type ServiceEnv, bearerAuth, createHttpApp, mountReadiness, readJsonBody, staticFiles } from '@ensemble/service';
import { type Logger, chainSpanAttributes, trace } from '@ensemble/telemetry';
import type { Context, Hono } from 'hono';
import type OpenAI from 'openai';

import { type ApprovalsApiDeps, assertUnambiguousChatDecision, mountApprovalsApi } from './approvals-api.js';
import { buildOpenApiDocument } from './openapi.js';
import { parseLastEventId } from './last-event-id.js';
import { assertOrchestrable } from './orchestration-input.js';
import { type OrchestrationHandler, UnavailableOrchestration } from './orchestration.js';
import { type PassthroughDeps, failed, honoExchange, relayChatCompletion } from './passthrough.js';
import { passthroughLane } from './passthrough-lane.js';
import { recordDecision } from './routing-record.js';
import { sessionHeader } from './session-header.js';
import { type SessionsApiDeps, mountSessionsApi } from './sessions-api.js';
import { describeUpstreamFailure } from './upstream-errors.js';
import { HttpPassthroughUpstream, type PassthroughUpstream } from './upstream-relay.js';

export interface GatewayDeps {
  logger: Logger;
  /** Client for `/v1/models` (and the readiness probe); give it `maxRetries: 0` (see `main.ts`). */
  upstream: OpenAI;
  /**
   * The passthrough's relay to the upstream's `/chat/completions`. Default: an `HttpPassthroughUpstream`
   * to the same base URL with the same key as `upstream`, and `upstreamTimeoutMs` as its timeout.
   */
  passthroughUpstream?: PassthroughUpstream;
  /** The upstream's timeout (the passthrough's, and for error messages). */
  upstreamTimeoutMs: number;
  router: Router;
  /** The complex path (`A2AOrchestration` in deployments); without it, orchestrated requests get a 501. */
  orchestration?: OrchestrationHandler;
  /** `/v1/sessions` routes; without them those routes answer 501. */
  sessions?: SessionsApiDeps;
  /** `/v1/approvals` and `/v1/sessions/{id}/approvals`; without them `/v1/approvals` answers 501. */
  approvals?: ApprovalsApiDeps;
  /** Discovered agents for `GET /v1/agents` (the gateway's own `AgentRegistry` over `AGENT_URLS`). */
  agents?: Pick<AgentRegistry, 'list'>;
  /** What `/ready` verifies (upstream, Redis); none means always ready. */
  readinessChecks?: readonly ReadinessCheck[];
  readinessTimeoutMs?: number;
  /** Bearer tokens for `/v1`; empty disables auth (bind to loopback then: see `resolveBindHost`). */
  apiTokens: readonly string[];
  maxBodyBytes?: number;
  /**
   * What every agent accepts (`A2A_MAX_BODY_BYTES`, default 4 MiB): orchestrated requests whose
   * conversation would not fit are refused with a 413 here instead of failing at an agent.
   */
  agentMaxBodyBytes?: number;
  version?: string;
  /** The built console (apps/console/dist) served at `/console`; without it `/console` is not mounted. */
  consoleDirectory?: string;
}

/**
 * The gateway: its HTTP app and the lane that serves the passthrough ahead of it (`passthroughLane`),
 * sharing one relay. `main.ts` serves both (`serveHttp(app, { lanes })`); wiring only.
 */
export function createGateway(deps: GatewayDeps): { app: Hono<ServiceEnv>; lanes: NodeLane[] } {
  const passthroughUpstream =
    deps.passthroughUpstream ?? new HttpPassthroughUpstream({ baseURL: deps.upstream.baseURL, apiKey: deps.upstream.apiKey ?? undefined, timeoutMs: deps.upstreamTimeoutMs });
  const passthrough: PassthroughDeps = { upstream: passthroughUpstream, logger: deps.logger, upstreamTimeoutMs: deps.upstreamTimeoutMs };
  const lane = passthroughLane({
    passthrough,
    router: deps.router,
    apiTokens: deps.apiTokens,
    maxBodyBytes: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    logger: deps.logger,
  });
  return { app: buildApp(deps, passthrough), lanes: [lane] };
}

/** The gateway's HTTP app alone (in-process tests, and servers without the lane). */
export function createGatewayApp(deps: GatewayDeps): Hono<ServiceEnv> {
  return createGateway(deps).app;
}

function buildApp(deps: GatewayDeps, passthrough: PassthroughDeps): Hono<ServiceEnv> {
  const app = createHttpApp({ logger: deps.logger, maxBodyBytes: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
  const orchestration = deps.orchestration ?? new UnavailableOrchestration();
  // Built once: the document only depends on configuration.
  const openApi = JSON.stringify(buildOpenApiDocument({ version: deps.version ?? '0.1.0', authRequired: deps.apiTokens.length > 0 }));

  app.get('/health', (c) => c.json({ status: 'ok', service: 'gateway' } satisfies HealthReport));

  mountReadiness(app, { checks: deps.readinessChecks, timeoutMs: deps.readinessTimeoutMs });

  app.get('/openapi.json', (c) => c.body(openApi, 200, { 'Content-Type': 'application/json' }));

  // Unauthenticated on purpose: the console asks it whether to show its sign-in (no tokens = loopback mode).
  app.get('/console/config.json', (c) => c.json({ authRequired: deps.apiTokens.length > 0 }, 200, { 'Cache-Control': 'no-cache' }));
  if (deps.consoleDirectory !== undefined) {
    const console = staticFiles({ directory: deps.consoleDirectory, prefix: '/console' });
    app.get('/console', console);
    app.get('/console/*', console);
  }

  app.use('/v1/*', bearerAuth(deps.apiTokens));
  app.use('/v1/*', sessionHeader());

  app.get('/v1/models', async (c) => {
    try {
      const page = await deps.upstream.models.list({ signal: c.req.raw.signal });
      return c.json({ object: 'list', data: page.data });
    } catch (error) {
      return failed(honoExchange(c), undefined, describeUpstreamFailure(error, { timeoutMs: deps.upstreamTimeoutMs }), c.var.logger);
    }
  });

  // `list()` reads the registry's in-memory state, so this route never waits on an agent.
  app.get('/v1/agents', agentsRoute(deps.agents ?? { list: () => [] }));

  if (deps.approvals === undefined) {
    app.all('/v1/approvals', notImplemented('Approvals are not available on this gateway (no orchestrator is configured)'));
    app.all('/v1/approvals/*', notImplemented('Approvals are not available on this gateway (no orchestrator is configured)'));
  } else {
    mountApprovalsApi(app, deps.approvals);
  }

  if (deps.sessions === undefined) {
    const unavailable = () => {
      throw new EnsembleError(ErrorCode.NotImplemented, 'Sessions are not available on this gateway (no orchestrator is configured)', { wireCode: 'sessions_unavailable' });
    };
    app.all('/v1/sessions', unavailable);
    app.all('/v1/sessions/*', unavailable);
  } else {
    mountSessionsApi(app, deps.sessions);
  }

  app.post('/v1/chat/completions', async (c) => {
    const request = await readJsonBody(c, ChatCompletionRequest);
    const decision = await deps.router.route(new HonoRouteInput(c, request));
    recordDecision(decision, c.var);
    c.header(ROUTING_DECISION_HEADER, formatRoutingDecisionHeader(decision));

    if (decision.path === 'passthrough') return relayChatCompletion(honoExchange(c), request, passthrough);
    // The request span is the root of the workflow's trace: Phoenix shows it as the chain it is.
    const span = trace.getActiveSpan();
    if (span?.isRecording() === true) span.setAttributes(chainSpanAttributes({ input: JSON.stringify(request.messages), json: true }));

    const sessionId = c.req.header('x-session-id') || undefined;
    assertOrchestrable(request, { sessionId, agentMaxBodyBytes: deps.agentMaxBodyBytes ?? DEFAULT_A2A_MAX_BODY_BYTES });
    const lastEventId = readLastEventId(c.req.header('last-event-id'), sessionId);
    if (sessionId !== undefined && deps.approvals !== undefined) await assertUnambiguousChatDecision(deps.approvals.store, c.var.principal, sessionId, request.messages);
    const response = await orchestration.handle({
      request,
      decision,
      sessionId,
      ...(lastEventId === undefined ? {} : { lastEventId }),
      principal: c.var.principal,
      signal: c.req.raw.signal,
    });
    // The handler's headers are merged over ours (request id, routing decision, session id).
    return c.newResponse(response.body, response);
  });

  return app;
}

/**
 * `Last-Event-ID`: the position of the last workflow event the client saw (the SSE `id:` it got). It
 * only means something on a session the client continues.
 */
function readLastEventId(header: string | undefined, sessionId: string | undefined): number | undefined {
  const position = parseLastEventId(header);
  if (position !== undefined && sessionId === undefined) {
    throw new EnsembleError(ErrorCode.InvalidRequest, 'Last-Event-ID resumes a session: send it with the X-Session-ID the response carried', { details: { param: 'Last-Event-ID' } });
  }
  return position;
}

function notImplemented(message: string): () => never {
  return () => {
    throw new EnsembleError(ErrorCode.NotImplemented, message, { wireCode: 'approvals_unavailable' });
  };
}

/**
 * A chat request as the router reads it. The request's `AbortSignal` is made only when read (a classifier
 * call, orchestration): creating it is a noticeable part of a passthrough's cost, and the passthrough
 * watches the socket instead. A class rather than an object literal with a getter: see the lint rule in
 * `eslint.config.js`.
 */
class HonoRouteInput implements RouteInput {
  readonly #c: Context<ServiceEnv>;

  constructor(
    c: Context<ServiceEnv>,
    readonly request: ChatCompletionRequest,
  ) {
    this.#c = c;
  }

  readonly header = (name: string): string | undefined => this.#c.req.header(name);

  get signal(): AbortSignal {
    return this.#c.req.raw.signal;
  }
}
