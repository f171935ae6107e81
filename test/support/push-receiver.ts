import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPush {
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (an A2A `StreamResponse` for push notifications). */
  body: Record<string, unknown>;
}

export interface PushReceiver {
  /** `http://127.0.0.1:<port>`; append any path. */
  url: string;
  received: ReceivedPush[];
  /** Resolves with the first notification (already received or still to come) that matches. */
  waitFor(matches: (push: ReceivedPush) => boolean, timeoutMs?: number): Promise<ReceivedPush>;
  /** The next `count` POSTs are answered with `status` instead of 200 (and not recorded). */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

/** A webhook endpoint on 127.0.0.1, port 0, recording every POST it answers 200. */
export async function startPushReceiver(): Promise<PushReceiver> {
  const received: ReceivedPush[] = [];
  const waiters = new Set<{ matches: (push: ReceivedPush) => boolean; resolve: (push: ReceivedPush) => void }>();
  let failures: { count: number; status: number } = { count: 0, status: 200 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (failures.count > 0) {
        failures = { ...failures, count: failures.count - 1 };
        res.writeHead(failures.status).end();
        return;
      }
      const push: ReceivedPush = { path: req.url ?? '/', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> };
      received.push(push);
      res.writeHead(200).end();
      for (const waiter of [...waiters]) {
        if (waiter.matches(push)) {
          waiters.delete(waiter);
          waiter.resolve(push);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    waitFor(matches, timeoutMs = 15_000) {
      const seen = received.find(matches);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching push notification within ${timeoutMs} ms; received: ${JSON.stringify(received.map((push) => push.body))}`));
        }, timeoutMs);
        const waiter = {
          matches,
          resolve: (push: ReceivedPush) => {
            clearTimeout(timer);
            resolve(push);
          },
        };
        waiters.add(waiter);
      });
    },
    failNext(count, status) {
      failures = { count, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The task state a received `StreamResponse` carries (`TASK_STATE_*`), from a task or a status update. */
export function pushedState(push: ReceivedPush): string | undefined {
  const body = push.body as { task?: { status?: { state?: string } }; statusUpdate?: { status?: { state?: string } } };
  return body.statusUpdate?.status?.state ?? body.task?.status?.state;
}
