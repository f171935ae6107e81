import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in service for supervisor tests: listens on FIXTURE_PORT (0 when unset; the supervisor pins it on restarts), logs `listening` with its URL (what the
 * supervisor waits for), and on SIGINT or SIGTERM exits with code 0, as every Ensemble service does.
 */
const server = createServer((_request, response) => response.end('ok'));
server.listen(Number(process.env['FIXTURE_PORT'] ?? '0'), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
