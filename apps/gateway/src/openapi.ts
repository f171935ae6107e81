import {
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatCompletionResponse,
  HealthReport,
  ModelList,
  OpenAIErrorBodySchema,
  ReadinessReport,
  RoutingDecision,
  RoutingMode,
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

const upstreamErrors = {
  '429': errorResponse("The upstream's rate limit, relayed with its Retry-After header."),
  '502': errorResponse('The upstream connection broke, or it answered with something that is not an OpenAI response.'),
  '503': errorResponse('The upstream LLM is unreachable.'),
  '504': errorResponse('The upstream LLM did not answer within UPSTREAM_TIMEOUT_MS.'),
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
        'The choice is reported in the X-Routing-Decision response header as `<path>; source=<rule|header|classifier|fallback>[; cached]; reason="..."`.',
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
            { name: 'X-Session-ID', in: 'header', required: false, ...header('Session to continue; echoed back.', { type: 'string', pattern: '^[\\w.:-]{1,128}$' }) },
            { name: 'X-Request-ID', in: 'header', required: false, ...header('Correlation id; generated when absent, echoed back, sent upstream.') },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ChatCompletionRequest' } } } },
          responses: {
            '200': {
              description: 'The completion, or (with `stream: true`) a stream of `data: <chunk>` events ending with `data: [DONE]`.',
              headers: {
                'X-Routing-Decision': header('Which path answered and why.'),
                'X-Request-ID': header('Correlation id of this request.'),
                'X-Session-ID': header('The session id sent by the client, if any.'),
              },
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/ChatCompletion' } },
                'text/event-stream': { schema: { $ref: '#/components/schemas/ChatCompletionChunk' } },
              },
            },
            ...commonErrors,
            ...upstreamErrors,
            '501': errorResponse('Routed to orchestration, which is not available yet (`code: orchestration_unavailable`).'),
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
        Error: schema(OpenAIErrorBodySchema),
      },
    },
  };
}
