/**
 * `bench:gateway`'s second floor: the passthrough's promised per-request work and nothing else, on bare
 * `node:http` (usage: `node --import tsx bench/promised-work-proxy.ts UPSTREAM_URL TOKEN UPSTREAM_KEY`).
 *
 * What the gateway cannot skip without dropping a promise, done the cheapest way: a request id, the
 * bearer token checked against its digest, the body parsed and validated with the gateway's own zod schema
 * (a clean 400 otherwise), sent upstream re-serialised over keep-alive with a `traceparent`, a JSON answer
 * parsed once to refuse one that is not a completion, and one JSON access-log line with the same logger
 * the services use. A stream is piped as bytes (the gateway also reads each event: a lower bound).
 * No framework, no spans, no routing, no async context: the bare proxy's figures plus this is where
 * issue 15's CPU and latency targets meet the work they ask to keep.
 */
import { hash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Agent, type IncomingMessage, type ServerResponse, createServer, request } from 'node:http';

import { ChatCompletionRequest, EnsembleError, ErrorCode, toOpenAIErrorBody } from '@ensemble/protocol';
import { createLogger } from '@ensemble/telemetry';

const [upstreamArg, token, upstreamKey] = process.argv.slice(2);
if (upstreamArg === undefined || token === undefined || upstreamKey === undefined) throw new Error('usage: promised-work-proxy.ts UPSTREAM_URL TOKEN UPSTREAM_KEY');
const upstream = new URL(upstreamArg);
const completionsPath = `${upstream.pathname.replace(/\/$/, '')}/chat/completions`;
const tokenDigest = hash('sha256', token, 'buffer');
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
// Buffered like the gateway's (its `LOG_FLUSH_INTERVAL_MS` default): one write per 100 ms, not one per line.
const logger = createLogger({ service: 'promised-work-proxy', flushIntervalMs: 100 });

/** An error in the gateway's wire format (the OpenAI error object, the status its code maps to). */
function reject(res: ServerResponse, code: ErrorCode, message: string): void {
  const error = new EnsembleError(code, message);
  res.writeHead(error.status, { 'content-type': 'application/json' }).end(JSON.stringify(toOpenAIErrorBody(error)));
}

function relay(req: IncomingMessage, res: ServerResponse, text: string, requestId: string, started: number): void {
  let validated: ChatCompletionRequest;
  try {
    const parsed = ChatCompletionRequest.safeParse(JSON.parse(text));
    if (!parsed.success) return reject(res, ErrorCode.InvalidRequest, 'invalid request body');
    validated = parsed.data;
  } catch {
    return reject(res, ErrorCode.InvalidRequest, 'request body is not JSON');
  }
  const body = JSON.stringify(validated);
  const headers = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    authorization: `Bearer ${upstreamKey}`,
    'x-request-id': requestId,
    traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`,
  };
  const out = request({ host: upstream.hostname, port: upstream.port, path: completionsPath, method: 'POST', agent, headers }, (answer) => {
    const done = (status: number) =>
      logger.info({ request_id: requestId, method: req.method, path: req.url, status, duration_ms: Math.round((performance.now() - started) * 100) / 100 }, 'request');
    if (validated.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId });
      answer.pipe(res);
      answer.once('end', () => done(200));
      return;
    }
    const parts: Buffer[] = [];
    answer.on('data', (part: Buffer) => parts.push(part));
    answer.once('end', () => {
      const answerText = Buffer.concat(parts).toString();
      let completion: unknown;
      try {
        completion = JSON.parse(answerText);
      } catch {
        completion = undefined;
      }
      if (typeof completion !== 'object' || completion === null || !Array.isArray((completion as { choices?: unknown }).choices)) {
        reject(res, ErrorCode.UpstreamError, 'upstream answer is not a chat completion');
        return done(res.statusCode);
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': requestId, 'x-routing-decision': 'path=passthrough; source=header' }).end(answerText);
      done(200);
    });
  });
  out.on('error', () => (res.headersSent ? res.destroy() : reject(res, ErrorCode.UpstreamUnavailable, 'upstream unreachable')));
  res.once('close', () => res.writableFinished || out.destroy());
  out.end(body);
}

const server = createServer((req, res) => {
  const started = performance.now();
  const requestId = randomUUID();
  const presented = req.headers.authorization?.startsWith('Bearer ') === true ? hash('sha256', req.headers.authorization.slice(7), 'buffer') : undefined;
  if (presented === undefined || !timingSafeEqual(presented, tokenDigest)) return reject(res, ErrorCode.Unauthorized, 'invalid bearer token');
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.once('end', () => relay(req, res, Buffer.concat(parts).toString(), requestId, started));
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  logger.info({ url: `http://127.0.0.1:${address.port}` }, 'listening');
});
process.on('SIGTERM', () => process.exit(0));
