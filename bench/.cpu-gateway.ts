import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

import { startService, stopAllServices } from '../test/support/processes.js';

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks at 100 Hz
}
const sim = await startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0' } });
const child = spawn(process.execPath, [...(process.env['NODE_EXTRA'] ? process.env['NODE_EXTRA'].split(' ') : []), '--import', 'tsx', 'apps/gateway/src/main.ts'], {
  env: { ...process.env, GATEWAY_PORT: '0', OPENAI_BASE_URL: `${sim.url}/v1`, API_TOKENS: 't', LOG_LEVEL: process.env['GW_LOG'] ?? 'info', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let url = '';
for await (const line of createInterface({ input: child.stdout })) {
  if (line.includes('"listening"')) { url = (JSON.parse(line) as { url: string }).url; break; }
}
child.stdout.resume();
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const payload = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], stream: process.env['STREAM'] === '1' });
const send = (target: string, headers: Record<string, string>) => new Promise<void>((resolve, reject) => {
  const req = request(`${target}/v1/chat/completions`, { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve); });
  req.on('error', reject);
  req.end(payload);
});
async function load(target: string, headers: Record<string, string>, n: number) {
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => { while (next++ < n) await send(target, headers); }));
}
const gw = { authorization: 'Bearer t', 'x-routing-mode': 'passthrough' };
await load(url, gw, 1000);
for (let round = 0; round < 3; round += 1) {
  const N = 3000;
  const g0 = cpuMs(child.pid!); const s0 = cpuMs(sim.pid);
  await load(url, gw, N);
  const g1 = cpuMs(child.pid!); const s1 = cpuMs(sim.pid);
  await load(sim.url, process.env['SDK_HEADERS'] ? { accept: 'application/json', 'user-agent': 'OpenAI/JS 6.49.0', 'x-stainless-retry-count': '0', 'x-stainless-lang': 'js', 'x-stainless-package-version': '6.49.0', 'x-stainless-os': 'Linux', 'x-stainless-arch': 'x64', 'x-stainless-runtime': 'node', 'x-stainless-runtime-version': 'v20.20.2', authorization: 'Bearer k', 'x-request-id': 'abc' + Math.random(), traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } : {}, N);
  const s2 = cpuMs(sim.pid);
  console.log(`gateway cpu/request ${((1000 * (g1 - g0)) / N).toFixed(0)} us; sim cpu/request via gw ${((1000 * (s1 - s0)) / N).toFixed(0)} us, direct ${((1000 * (s2 - s1)) / N).toFixed(0)} us`);
}
child.kill('SIGTERM');
await once(child, 'exit');
await stopAllServices();
agent.destroy();
