import {
  Approval,
  ApprovalDecisionRequest,
  ApprovalList,
  ApprovalWebhookEvent,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatCompletionResponse,
  HealthReport,
  ModelList,
  OpenAIErrorBodySchema,
  ReadinessReport,
  RoutingDecision,
  RoutingMode,
  SessionCancelResult,
  SessionList,
  SessionView,
} from '@ensemble/protocol';
import { z } from 'zod';

type JsonObject = Record<string, unknown>;

/** JSON Schema 2020-12 (what OpenAPI 3.1 uses) from a zod schema, without the per-schema `$schema` key. */
function schema(zodSchema: z.ZodType, io: 'input' | 'output' = 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(zodSchema, { io, unrepresentable: 'any' }) as JsonObject;
  return rest;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const commonErrors = {
  '400': errorResponse('Invalid JSON, a field of the wrong type, or a malformed or contradictory routing header.'),
  '401': errorResponse('Missing or invalid bearer token.'),
  '413': errorResponse('Request body larger than MAX_BODY_BYTES.'),
};

const approvalJson = (ref: string, description: string) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const approvalListParameters = [
  { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: ['pending', 'approved', 'rejected', 'expired'] } },
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  { name: 'cursor', in: 'query', required: false, schema: { type: 'string' }, description: 'The `next_cursor` of the previous page.' },
];
const decisionBody = { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ApprovalDecisionRequest' } } } };
const decisionErrors = {
  '400': errorResponse('Malformed body, an answer for a kind `approval` (or a decision for kind `input`), or `arguments` that fail `arguments_schema` (`param` names the field, e.g. `arguments.environment`).'),
  '401': errorResponse('Missing or invalid bearer token.'),
  '404': errorResponse("Unknown approval or session, or another caller's (nothing is changed)."),
  '409': errorResponse('Already decided or expired (`approval_already_decided`); on the session route also several pending (`approval_ambiguous`, the ids in the message) or none.'),
};

/** Human decisions as records (CONTRACTS.md "Approvals API"); a decision resumes the workflow in the background. */
const APPROVAL_PATHS = {
  '/v1/approvals': {
    get: {
      operationId: 'listApprovals',
      summary: "The caller's approvals (one per paused node), pending first, then newest first.",
      parameters: [...approvalListParameters, { name: 'session_id', in: 'query', required: false, schema: { type: 'string' } }],
      responses: { '200': approvalJson('ApprovalList', 'One page.'), '400': errorResponse('Bad status, limit or cursor.'), '401': errorResponse('Missing or invalid bearer token.') },
    },
  },
  '/v1/approvals/{id}': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      operationId: 'getApproval',
      summary: 'One approval: what the agent wants to do, why, risks, impact, arguments and their schema.',
      responses: { '200': approvalJson('Approval', 'The approval.'), '401': errorResponse('Missing or invalid bearer token.'), '404': errorResponse("Unknown or another caller's approval.") },
    },
    post: {
      operationId: 'decideApproval',
      summary: 'Approve (optionally with edited `arguments`), reject, or answer (kind `input`). Exactly once; the paused workflow resumes in the background.',
      requestBody: decisionBody,
      responses: { '200': approvalJson('Approval', 'The decided approval.'), ...decisionErrors },
    },
  },
  '/v1/sessions/{id}/approvals': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      operationId: 'listSessionApprovals',
      summary: "The session's approvals.",
      parameters: approvalListParameters,
      responses: { '200': approvalJson('ApprovalList', 'One page.'), '401': errorResponse('Missing or invalid bearer token.'), '404': errorResponse("Unknown or another caller's session.") },
    },
    post: {
      operationId: 'decideSessionApproval',
      summary: "Decides the session's single pending approval, or the one named by `approval_id` in the body.",
      requestBody: decisionBody,
      responses: { '200': approvalJson('Approval', 'The decided approval.'), ...decisionErrors },
    },
  },
};

const upstreamErrors = {
  '429': errorResponse("The upstream's rate limit, relayed with its Retry-After header."),
  '502': errorResponse('The upstream connection broke, or it answered with something that is not an OpenAI response.'),
  '503': errorResponse('The upstream LLM is unreachable.'),
  '504': errorResponse('The upstream LLM did not answer within UPSTREAM_TIMEOUT_MS.'),
};

/** `GET /v1/agents` (`agentList` of `@ensemble/a2a`); the card itself is the A2A v1.0 Agent Card JSON. */
const AGENT_LIST_SCHEMA: JsonObject = {
  type: 'object',
  required: ['object', 'data'],
  properties: {
    object: { const: 'list' },
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['object', 'name', 'url', 'status', 'available', 'skills'],
        properties: {
          object: { const: 'agent' },
          name: { type: ['string', 'null'] },
          url: { type: 'string' },
          endpoint: { type: ['string', 'null'] },
          status: { type: 'string', enum: ['unknown', 'available', 'unavailable'] },
          available: { type: 'boolean' },
          last_checked: { type: ['string', 'null'], format: 'date-time' },
          last_error: { type: ['string', 'null'] },
          description: { type: ['string', 'null'] },
          skills: { type: 'array', items: { type: 'object' } },
          card: { description: 'The A2A v1.0 Agent Card, or null before one was fetched.' },
        },
      },
    },
  },
};

const header = (description: string, valueSchema: JsonObject = { type: 'string' }) => ({ description, schema: valueSchema });

/**
 * The gateway's OpenAPI 3.1 document. Request and response bodies come from the zod schemas in
 * `@ensemble/protocol` (the same ones that validate requests), so the document cannot drift from the code.
 */
export function buildOpenApiDocument(options: { version: string; authRequired: boolean }): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ensemble gateway',
      version: options.version,
      description:
        'OpenAI-compatible front door. Simple requests go straight to the upstream LLM; complex ones to the multi-agent orchestrator. ' +
        'The choice is reported in the X-Routing-Decision response header as `<path>; source=<rule|header|local|classifier|fallback>[; cached]; reason="..."`.',
    },
    servers: [{ url: '/' }],
    ...(options.authRequired ? { security: [{ bearerAuth: [] }] } : {}),
    paths: {
      '/v1/chat/completions': {
        post: {
          operationId: 'createChatCompletion',
          summary: 'Create a chat completion (streaming with `stream: true`).',
          parameters: [
            { name: 'X-Routing-Mode', in: 'header', required: false, ...header('Force a path, or `auto` to let rules and the classifier decide.', schema(RoutingMode)) },
            { name: 'X-Skip-Orchestration', in: 'header', required: false, ...header('`true` forces the direct path.', { type: 'string', enum: ['true', 'false'] }) },
            {
              name: 'X-Session-ID',
              in: 'header',
              required: false,
              ...header('Session to continue (re-attach to its running workflow, answer its approval, or get its finished answer).', {
                type: 'string',
                pattern: '^[\\w.:-]{1,128}$',
              }),
            },
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              ...header(
                'With `X-Session-ID`: the `id:` of the last SSE event the client got. The response resumes exactly after it (read from the session’s event log, on any gateway, also while another orchestrator takes the workflow over), including the rest of an answer that was streaming.',
                { type: 'string', pattern: '^\\d{1,15}$' },
              ),
            },
            { name: 'X-Request-ID', in: 'header', required: false, ...header('Correlation id; generated when absent, echoed back, sent upstream.') },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ChatCompletionRequest' } } } },
          responses: {
            '200': {
              description:
                'The completion, or (with `stream: true`) a stream of `data: <chunk>` events ending with `data: [DONE]`. Orchestrated answers carry the agents\' progress in ' +
                '`choices[0].delta.reasoning_event` (plus a text line in `delta.reasoning_content`, or `delta.reasoning`, per ORCHESTRATION_REASONING_FIELD); non-streamed, in ' +
                '`choices[0].message.reasoning_events` and `message.reasoning_content`. Their `usage` sums every LLM call of the request (classifier, planner, agents, synthesis).',
              headers: {
                'X-Routing-Decision': header('Which path answered and why.'),
                'X-Request-ID': header('Correlation id of this request.'),
                'X-Session-ID': header('On orchestrated requests, the workflow session (new or continued), sent before the first byte; otherwise the one the client sent.'),
              },
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/ChatCompletion' } },
                'text/event-stream': { schema: { $ref: '#/components/schemas/ChatCompletionChunk' } },
              },
            },
            ...commonErrors,
            ...upstreamErrors,
            '400': errorResponse(
              'Invalid JSON, a field of the wrong type, or a malformed or contradictory routing header; on the orchestration path also a new workflow without user text to plan (`no_user_text`: no user message, or a blank or image-only last one).',
            ),
            '413': errorResponse('Request body larger than MAX_BODY_BYTES; on the orchestration path also a conversation larger than the agents accept (`conversation_too_large`, see A2A_MAX_BODY_BYTES).'),
            '404': errorResponse('`X-Session-ID` names no session of this caller (`session_not_found`), or one that finished and was deleted (`session_finished`).'),
            '409': errorResponse('Another request is working on that session (`session_busy`); re-send once it is done to get its result.'),
            '501': errorResponse('Routed to orchestration on a gateway without an orchestrator (`code: orchestration_unavailable`).'),
          },
        },
      },
      '/v1/sessions': {
        get: {
          operationId: 'listSessions',
          summary: "The caller's own workflow sessions that are still stored (running or waiting for approval), newest first.",
          parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } }],
          responses: {
            '200': { description: 'Sessions (without per-node progress).', content: { 'application/json': { schema: { $ref: '#/components/schemas/SessionList' } } } },
            '400': commonErrors['400'],
            '401': commonErrors['401'],
            '503': errorResponse('Session storage (Redis) is unavailable.'),
          },
        },
      },
      '/v1/sessions/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          operationId: 'getSession',
          summary: 'One session: its plan and where every node stands.',
          responses: {
            '200': { description: 'The session.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Session' } } } },
            '401': commonErrors['401'],
            '404': errorResponse("Unknown, expired or another caller's session (`session_not_found`), or finished and deleted (`session_finished`, with how it ended)."),
            '503': errorResponse('Session storage (Redis) is unavailable.'),
          },
        },
        delete: {
          operationId: 'cancelSession',
          summary: "Cancels the session's workflow wherever it runs: running agent tasks are cancelled and the session is deleted.",
          responses: {
            '200': { description: 'Cancelled.', content: { 'application/json': { schema: { $ref: '#/components/schemas/SessionCancelResult' } } } },
            '401': commonErrors['401'],
            '404': errorResponse("Unknown, finished or another caller's session."),
            '503': errorResponse('The orchestrator is unreachable.'),
          },
        },
      },
      '/v1/sessions/{id}/events': {
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'after', in: 'query', required: false, description: 'Events after this position (default 0: from the first).', schema: { type: 'integer', minimum: 0 } },
          { name: 'limit', in: 'query', required: false, description: 'Most events in a JSON page.', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 1000 } },
          { name: 'Last-Event-ID', in: 'header', required: false, description: 'SSE: resume after this position (overrides `after`).', schema: { type: 'string', pattern: '^\\d{1,15}$' } },
        ],
        get: {
          operationId: 'listSessionEvents',
          summary:
            "The session's event log: every workflow event (kind `progress` with a reasoning event, `answer` pieces, `usage`, `turn` start and end) with its position. JSON pages, or with `Accept: text/event-stream` a live tail whose SSE `id:` is the position and `event:` the kind (a keep-alive comment every 15 s; `event: truncated` when events were trimmed before they were read).",
          responses: {
            '200': {
              description: 'Events after the position.',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['object', 'data', 'head', 'truncated'],
                    properties: {
                      object: { type: 'string', enum: ['list'] },
                      data: { type: 'array', items: { type: 'object', required: ['position', 'kind', 'at'], properties: { position: { type: 'integer' }, kind: { type: 'string', enum: ['progress', 'answer', 'usage', 'turn'] }, at: { type: 'string' } } } },
                      head: { type: 'integer', description: 'Position of the newest event.' },
                      truncated: { type: 'boolean', description: 'Events right after `after` were trimmed away.' },
                    },
                  },
                },
                'text/event-stream': { schema: { type: 'string' } },
              },
            },
            '400': errorResponse('`after`, `limit` or `Last-Event-ID` is not a valid number.'),
            '401': commonErrors['401'],
            '404': errorResponse("Unknown, expired or another caller's session."),
          },
        },
      },
      ...APPROVAL_PATHS,
      '/v1/agents': {
        get: {
          operationId: 'listAgents',
          summary: 'The agents configured in AGENT_URLS, as discovered from their Agent Cards, with their availability.',
          responses: {
            '200': { description: 'Agents.', content: { 'application/json': { schema: AGENT_LIST_SCHEMA } } },
            '401': commonErrors['401'],
          },
        },
      },
      '/v1/models': {
        get: {
          operationId: 'listModels',
          summary: "The upstream's model list.",
          responses: {
            '200': { description: 'Models.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelList' } } } },
            '401': commonErrors['401'],
            ...upstreamErrors,
          },
        },
      },
      '/health': {
        get: {
          operationId: 'health',
          summary: 'Liveness: the process serves requests.',
          security: [],
          responses: { '200': { description: 'Alive.', content: { 'application/json': { schema: schema(HealthReport) } } } },
        },
      },
      '/ready': {
        get: {
          operationId: 'ready',
          summary: 'Readiness: the upstream LLM and Redis answer.',
          security: [],
          responses: {
            '200': { description: 'Ready.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ReadinessReport' } } } },
            '503': { description: 'A check failed; the report names it.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ReadinessReport' } } } },
          },
        },
      },
      '/openapi.json': {
        get: { operationId: 'openapi', summary: 'This document.', security: [], responses: { '200': { description: 'OpenAPI 3.1 document.' } } },
      },
      '/console/config.json': {
        get: {
          operationId: 'consoleConfig',
          summary: 'What the web console (served at `/console`) needs before sign-in: whether API tokens are required (no `API_TOKENS`: loopback mode, no sign-in).',
          security: [],
          responses: {
            '200': {
              description: 'The console configuration (`Cache-Control: no-cache`).',
              content: {
                'application/json': {
                  schema: { type: 'object', required: ['authRequired'], additionalProperties: false, properties: { authRequired: { type: 'boolean', description: 'Sign in with an API token first.' } } },
                },
              },
            },
          },
        },
      },
    },
    // What the orchestrator and the gateway POST to each APPROVAL_WEBHOOK_URLS entry (README "Webhooks").
    webhooks: {
      approvalEvent: {
        post: {
          operationId: 'approvalEvent',
          summary: 'An approval was requested, decided or expired (sent when APPROVAL_WEBHOOK_URLS is set).',
          security: [],
          parameters: [
            { name: 'X-Ensemble-Signature', in: 'header', required: true, ...header('`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with APPROVAL_WEBHOOK_SECRET; refuse a stale `t` (replay).') },
            { name: 'X-Ensemble-Event', in: 'header', required: true, ...header('The event `type`.', schema(ApprovalWebhookEvent.shape.type)) },
            { name: 'X-Ensemble-Delivery', in: 'header', required: true, ...header('The event `id`, the same on every retry.') },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ApprovalWebhookEvent' } } } },
          responses: {
            '2XX': { description: 'Delivered.' },
            '4XX': { description: 'Refused: not retried (except 408 and 429).' },
            '5XX': { description: 'Retried with backoff, 6 attempts in all.' },
          },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'One of the tokens in API_TOKENS.' } },
      schemas: {
        ChatCompletionRequest: schema(ChatCompletionRequest, 'input'),
        ChatCompletion: schema(ChatCompletionResponse),
        ChatCompletionChunk: schema(ChatCompletionChunk),
        ModelList: schema(ModelList),
        RoutingDecision: schema(RoutingDecision),
        ReadinessReport: schema(ReadinessReport),
        Session: schema(SessionView),
        SessionList: schema(SessionList),
        SessionCancelResult: schema(SessionCancelResult),
        Approval: schema(Approval),
        ApprovalList: schema(ApprovalList),
        ApprovalDecisionRequest: schema(ApprovalDecisionRequest, 'input'),
        ApprovalWebhookEvent: schema(ApprovalWebhookEvent),
        Error: schema(OpenAIErrorBodySchema),
      },
    },
  };
}
