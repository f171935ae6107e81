// The floor `bench:gateway` compares with: a bare keep-alive `node:http` reverse proxy (usage: node bare-proxy.mjs UPSTREAM_URL).
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:8100');
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
const server = createServer((req, res) => {
  const headers = { ...req.headers, host: upstream.host };
  const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', () => res.headersSent ? res.destroy() : res.writeHead(502).end());
  res.on('close', () => res.writableFinished || out.destroy());
  req.pipe(out);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` }));
});
process.on('SIGTERM', () => process.exit(0));
