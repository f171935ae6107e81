// Floor: the cheapest possible proxy (node:http in, node:http keep-alive out, no parsing) and a fetch-based one.
import { Agent, createServer, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { startService, stopAllServices } from '../test/support/processes.js';

const sim = await startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } });
const upstreamAgent = new Agent({ keepAlive: true, maxSockets: 64 });
const mode = process.env['FLOOR'] ?? 'http';
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (mode === 'fetch') {
      void fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.toString() }).then(async (r) => {
        const text = await r.text();
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(text);
      });
      return;
    }
    const up = request(`${sim.url}/v1/chat/completions`, { method: 'POST', agent: upstreamAgent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (upRes) => {
      const out: Buffer[] = [];
      upRes.on('data', (c: Buffer) => out.push(c));
      upRes.on('end', () => res.writeHead(upRes.statusCode ?? 502, { 'content-type': 'application/json' }).end(Buffer.concat(out)));
    });
    up.end(body);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const addr = server.address() as { port: number };
const url = `http://127.0.0.1:${addr.port}`;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const payload = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
const send = (target: string) => new Promise<void>((resolve, reject) => {
  const req = request(`${target}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve); });
  req.on('error', reject);
  req.end(payload);
});
function cpu(pid: number) { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; }
async function load(target: string, n: number) { let next = 0; await Promise.all(Array.from({ length: 8 }, async () => { while (next++ < n) await send(target); })); }
await load(url, 1000);
for (let i = 0; i < 3; i += 1) {
  const N = 3000;
  // The proxy runs in this process together with the load generator: measure the sim only, and wall time.
  const s0 = cpu(sim.pid); const t0 = performance.now();
  await load(url, N);
  const t1 = performance.now(); const s1 = cpu(sim.pid);
  await load(sim.url, N);
  const t2 = performance.now(); const s2 = cpu(sim.pid);
  console.log(`${mode}: proxied ${(N / ((t1 - t0) / 1000)).toFixed(0)} req/s, direct ${(N / ((t2 - t1) / 1000)).toFixed(0)} req/s; sim cpu via proxy ${((1000 * (s1 - s0)) / N).toFixed(0)} us direct ${((1000 * (s2 - s1)) / N).toFixed(0)} us`);
}
server.close(); upstreamAgent.destroy(); agent.destroy();
await stopAllServices();
