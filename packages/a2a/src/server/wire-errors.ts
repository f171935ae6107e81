import { A2A_CONTENT_TYPE } from '@a2a-js/sdk';
import { A2A_ERROR_CODE } from '@a2a-js/sdk/errors';
import { type EnsembleError, ErrorCode } from '@ensemble/protocol';
import type { ServiceEnv } from '@ensemble/service';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

import { JSONRPC_PATH, REST_PATH } from '../card.js';

/**
 * Errors raised before an A2A request reaches its transport handler (no route, wrong HTTP method, body
 * over the limit, missing token, a failure of the app itself), written in the binding's own format: a
 * JSON-RPC error object under `/a2a` and an AIP-193 error under the HTTP+JSON base path. A client of
 * either binding never meets the OpenAI error object the rest of the service answers with.
 */

/** Every A2A route lives under this prefix; anything under it that is not HTTP+JSON is JSON-RPC's. */
export const A2A_PATH_PREFIX = JSONRPC_PATH.slice(0, JSONRPC_PATH.indexOf('/', 1));

export type A2ABinding = 'jsonrpc' | 'rest';

/** The binding whose error format applies to `path`, or `undefined` outside the A2A routes. */
export function a2aBindingOf(path: string): A2ABinding | undefined {
  if (path === REST_PATH || path.startsWith(`${REST_PATH}/`)) return 'rest';
  if (path === A2A_PATH_PREFIX || path.startsWith(`${A2A_PATH_PREFIX}/`)) return 'jsonrpc';
  return undefined;
}

/** `google.rpc.ErrorInfo` naming the failure; not an A2A error, so not the A2A domain. */
function errorInfo(error: EnsembleError): Record<string, unknown> {
  return { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: error.code.toUpperCase(), domain: 'ensemble', metadata: {} };
}

/** What the client may read: the message, except for unexpected failures (logged by the app). */
function publicMessage(error: EnsembleError): string {
  return error.code === ErrorCode.Internal ? 'Internal error' : error.message;
}

/**
 * JSON-RPC code for an error met outside any JSON-RPC method: no such endpoint is "method not found"
 * (as the A2A error table pairs -32601 with HTTP 404), a failure of the service "internal error", and
 * every other refusal of the request itself (method, size, credentials) "invalid request".
 */
export function jsonRpcCodeFor(error: EnsembleError): number {
  if (error.status === 404) return A2A_ERROR_CODE.METHOD_NOT_FOUND;
  if (error.status >= 500) return A2A_ERROR_CODE.INTERNAL_ERROR;
  return A2A_ERROR_CODE.INVALID_REQUEST;
}

/** The `google.rpc.Code` name AIP-193 puts in `status` for an HTTP status. */
export function rpcStatusName(status: number): string {
  switch (status) {
    case 400:
    case 413:
    case 415:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
    case 405:
      return 'NOT_FOUND';
    case 409:
      return 'ABORTED';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 499:
      return 'CANCELLED';
    case 501:
      return 'UNIMPLEMENTED';
    case 503:
      return 'UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return status >= 500 ? 'INTERNAL' : 'UNKNOWN';
  }
}

/** `{ jsonrpc, id: null, error: { code, message, data } }`: the request's id is unknown at this point. */
export function jsonRpcTransportError(error: EnsembleError): Record<string, unknown> {
  return { jsonrpc: '2.0', id: null, error: { code: jsonRpcCodeFor(error), message: publicMessage(error), data: [errorInfo(error)] } };
}

/** AIP-193: `{ error: { code: <HTTP status>, status, message, details } }`. */
export function restTransportError(error: EnsembleError): Record<string, unknown> {
  return { error: { code: error.status, status: rpcStatusName(error.status), message: publicMessage(error), details: [errorInfo(error)] } };
}

/**
 * `renderError` of an agent service's app (see `createHttpApp`): the A2A routes' errors in their
 * binding's format, with the error's HTTP status; `undefined` (the OpenAI format) everywhere else.
 */
export function renderA2AError(c: Context<ServiceEnv>, error: EnsembleError): Response | undefined {
  const binding = a2aBindingOf(c.req.path);
  if (binding === undefined) return undefined;
  const status = error.status as ContentfulStatusCode;
  if (binding === 'jsonrpc') return c.json(jsonRpcTransportError(error), status);
  return c.body(JSON.stringify(restTransportError(error)), status, { 'Content-Type': A2A_CONTENT_TYPE });
}
