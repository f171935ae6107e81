import type { AddressInfo } from 'node:net';
import { type RequestListener, type Server, createServer } from 'node:http';

import { type HttpBindings, getRequestListener } from '@hono/node-server';
import type { Logger } from '@ensemble/telemetry';

import { type NodeLane, laneListener } from './node-lane.js';

export interface ServeOptions {
  host: string;
  /** 0 lets the OS pick a free port; the chosen one is in the returned `url`. */
  port: number;
  logger: Logger;
  service: string;
  /** Hot paths served on `node:http` before the app (see `NodeLane`); each declines what it does not serve. */
  lanes?: readonly NodeLane[];
}

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  /**
   * Stops accepting connections and waits for in-flight requests (streams included) up to `graceMs`,
   * then closes whatever is left.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Anything with a WHATWG `fetch` handler: a Hono app, or a hand-written handler in tests. The Node
 * bindings (`c.env.incoming` / `c.env.outgoing`) are passed through so a handler can reach the socket.
 */
interface FetchApp {
  fetch: (request: Request, bindings: HttpBindings) => Response | Promise<Response>;
}

/**
 * Starts an HTTP server for a Hono app and logs one `listening` line carrying the URL. Process
 * supervisors and tests read that line to learn the port instead of guessing or sleeping.
 */
export function serveHttp(app: FetchApp, options: ServeOptions): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const appListener = getRequestListener((request, bindings) => app.fetch(request, bindings as HttpBindings), { hostname: options.host }) as RequestListener;
    const lanes = options.lanes ?? [];
    const server = createServer(lanes.length === 0 ? appListener : laneListener(lanes, appListener, options.logger));
    server.keepAliveTimeout = 65_000;
    server.once('error', reject);
    server.once('listening', () => {
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
      options.logger.info({ url, port: address.port, service: options.service }, 'listening');
      resolve({
        url,
        port: address.port,
        server,
        close: (graceMs = 10_000) => closeGracefully(server, graceMs),
      });
    });
    server.listen(options.port, options.host);
  });
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Runs `stop` once on SIGINT or SIGTERM, then exits. A second signal exits at once, so Ctrl-C twice
 * never hangs.
 */
export function onShutdownSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
