import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

import { toEnsembleError, toOpenAIErrorBody } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';

/**
 * A hot path served on `node:http` ahead of the Hono app (the gateway's passthrough), where the
 * framework's share of a request (the WHATWG request and response objects, the middleware chain, the
 * async context around every step) would be most of what the service itself adds. A lane sees the
 * request's head and whole body, then either serves it or declines before any side effect, and the
 * app serves it exactly as it would without the lane: errors, auth failures and every case the lane does
 * not know stay with the app, in one place.
 */
export interface NodeLane {
  method: string;
  /** The exact path (a query string is allowed). */
  path: string;
  /**
   * Bodies declared larger go to the app, whose body limit answers them; so do bodies of unknown length
   * (chunked), which the app counts as they arrive.
   */
  maxBodyBytes: number;
  /**
   * Serves the request and returns `true`, or returns `false` without having written, logged or traced
   * anything, and the app serves it. The lane owns the response from `true` on, errors included.
   */
  serve(incoming: IncomingMessage, body: Buffer, outgoing: ServerResponse): boolean;
}

/** @hono/node-server reads a body already read from the socket from `rawBody` (its documented hook). */
type ReadIncoming = IncomingMessage & { rawBody?: Buffer };

/**
 * A `node:http` listener that offers each request to its lane, if one matches, and otherwise to `app`. A
 * lane that throws (a bug) costs its request a 500 in the OpenAI error format, never the process.
 */
export function laneListener(lanes: readonly NodeLane[], app: RequestListener, logger: Logger): RequestListener {
  return (incoming, outgoing) => {
    const lane = lanes.find((candidate) => matches(candidate, incoming));
    if (lane === undefined) {
      app(incoming, outgoing);
      return;
    }
    readBody(incoming, (body) => {
      let served: boolean;
      try {
        served = lane.serve(incoming, body, outgoing);
      } catch (error) {
        failLaneRequest(outgoing, error, logger);
        return;
      }
      if (served) return;
      (incoming as ReadIncoming).rawBody = body;
      app(incoming, outgoing);
    });
  };
}

/**
 * A lane's request failed with a bug (not an answer it meant to give): logged, then a 500 in the OpenAI
 * error format without detail, like the app's, with `headers` (the request id); a response already under
 * way is cut instead.
 */
export function failLaneRequest(outgoing: ServerResponse, error: unknown, logger: Logger, headers: Readonly<Record<string, string>> = {}): void {
  const failure = toEnsembleError(error);
  logger.error({ err: error, code: failure.code }, 'request failed');
  if (outgoing.headersSent) {
    outgoing.destroy();
    return;
  }
  const text = JSON.stringify(toOpenAIErrorBody(failure));
  outgoing.writeHead(failure.status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

function matches(lane: NodeLane, incoming: IncomingMessage): boolean {
  if (incoming.method !== lane.method) return false;
  const url = incoming.url ?? '';
  if (url !== lane.path && !(url.startsWith(lane.path) && url.charAt(lane.path.length) === '?')) return false;
  const declared = incoming.headers['content-length'];
  return declared !== undefined && incoming.headers['transfer-encoding'] === undefined && Number(declared) <= lane.maxBodyBytes;
}

/**
 * Reads the declared body whole, then calls `onBody`. A client that goes away mid-body is dropped: there
 * is no one left to answer.
 */
function readBody(incoming: IncomingMessage, onBody: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
  incoming.once('end', () => onBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
  // A reset connection: `close` follows, and the socket is already gone.
  incoming.once('error', () => undefined);
}
