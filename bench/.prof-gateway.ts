import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

import { startService, stopAllServices } from '../test/support/processes.js';

const sim = await startService({ name: 'sim-llm', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0', LOG_LEVEL: 'info' } });
const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', '/tmp/gwprof', '--import', 'tsx', 'apps/gateway/src/main.ts'], {
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
const send = () => new Promise<void>((resolve, reject) => {
  const req = request(`${url}/v1/chat/completions`, { method: 'POST', agent, headers: { authorization: 'Bearer t', 'x-routing-mode': 'passthrough', 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve); });
  req.on('error', reject);
  req.end(payload);
});
const N = 4000;
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: 8 }, async () => { while (next++ < N) await send(); }));
console.log('rps', (N / ((performance.now() - t0) / 1000)).toFixed(0));
child.kill('SIGTERM');
await once(child, 'exit');
await stopAllServices();
agent.destroy();
