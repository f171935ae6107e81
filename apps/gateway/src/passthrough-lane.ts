import type { IncomingMessage } from 'node:http';

import { ChatCompletionRequest, ROUTING_DECISION_HEADER, SESSION_ID_HEADER } from '@ensemble/protocol';
import { type Router, formatRoutingDecisionHeader } from '@ensemble/routing';
import { type NodeLane, bearerTokenCheck, failLaneRequest, startRequestRecord } from '@ensemble/service';
import type { Logger } from '@ensemble/telemetry';

import { type PassthroughDeps, relayChatCompletion, socketExchange } from './passthrough.js';
import { recordDecision } from './routing-record.js';

export interface PassthroughLaneDeps {
  passthrough: PassthroughDeps;
  router: Pick<Router, 'decideWithoutModel'>;
  /** The app's: a request the lane serves must pass the same checks. */
  apiTokens: readonly string[];
  maxBodyBytes: number;
  logger: Logger;
}

const PATH = '/v1/chat/completions';
const SESSION_HEADER = SESSION_ID_HEADER.toLowerCase();

/**
 * The passthrough on a `NodeLane`: a chat request the gateway relays anyway, decided without a model call
 * (a routing header, a rule, the local classifier), is served on the socket without Hono: about a third of
 * the gateway's CPU per passthrough request was the framework around the relay. The lane serves only
 * what the route would answer with a relay, and declines everything else before any side effect: a missing or
 * wrong token, a body that is not a valid request, a session (`X-Session-ID`), a routing header that is
 * not valid, a decision for orchestration, or one that needs the LLM classifier. The app then serves
 * the request as if the lane did not exist, with its own errors. What a client sees (headers, body, the
 * upstream's errors, the stream, a disconnect) and what is recorded (server span, LLM span, the access-log
 * line with the routing decision) come from the code the route uses: `startRequestRecord`,
 * `recordDecision` and `relayChatCompletion`.
 */
export function passthroughLane(deps: PassthroughLaneDeps): NodeLane {
  const checkToken = bearerTokenCheck(deps.apiTokens);
  return {
    method: 'POST',
    path: PATH,
    maxBodyBytes: deps.maxBodyBytes,
    serve(incoming, body, outgoing) {
      const header = (name: string) => headerOf(incoming, name);
      if ('error' in checkToken(header('authorization'))) return false;
      if ((incoming.headers[SESSION_HEADER] ?? '') !== '') return false;
      const request = parseRequest(body);
      if (request === undefined) return false;
      let decision;
      try {
        decision = deps.router.decideWithoutModel({ request, header });
      } catch {
        return false;
      }
      if (decision?.path !== 'passthrough') return false;

      const record = startRequestRecord({ logger: deps.logger, method: 'POST', path: PATH, header });
      const headers = { 'X-Request-ID': record.requestId, [ROUTING_DECISION_HEADER]: formatRoutingDecisionHeader(decision) };
      const exchange = socketExchange(outgoing, record.requestId, headers);
      record.run(() => {
        recordDecision(decision, { accessLog: record.accessLog, logger: deps.logger });
        relayChatCompletion(exchange, request, deps.passthrough).then(
          // A whole answer is written by now; a stream is under way, and its span and line end with it
          // (completed, failed or cancelled), when the socket closes.
          () => (outgoing.writableEnded ? record.finish(outgoing.statusCode, false) : outgoing.once('close', () => record.finish(outgoing.statusCode, true))),
          // A bug, not an upstream failure (the relay answers those itself).
          (error: unknown) => {
            failLaneRequest(outgoing, error, deps.logger, headers);
            record.finish(outgoing.statusCode, false);
          },
        );
      });
      return true;
    },
  };
}

function headerOf(incoming: IncomingMessage, name: string): string | undefined {
  const value = incoming.headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}

/** The request, or `undefined` for anything the app's route would refuse (it renders the 400). */
function parseRequest(body: Buffer): ChatCompletionRequest | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = ChatCompletionRequest.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
