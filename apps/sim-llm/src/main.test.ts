import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';

import { startService, stopAllServices } from '../../../test/support/processes.js';

afterAll(stopAllServices);

describe('sim-llm as a process (main.ts)', () => {
  it('reads its latency defaults from the environment, serves the SDK, and stops cleanly on SIGTERM', async () => {
    const service = await startService({
      name: 'sim-llm',
      entry: 'apps/sim-llm/src/main.ts',
      env: { SIM_LLM_PORT: '0', SIM_LLM_TTFT_MS: '150', LOG_LEVEL: 'info' },
    });
    const client = new OpenAI({ baseURL: `${service.url}/v1`, apiKey: 'sk-process', maxRetries: 0 });
    const started = performance.now();
    const completion = await client.chat.completions.create({ model: 'sim-llm', messages: [{ role: 'user', content: 'ping' }] });
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(completion.choices[0]?.message.content).toMatch(/^\[sim-llm\] You asked: "ping"/);
    const config = (await (await fetch(`${service.url}/_sim/config`)).json());
    expect(config).toEqual({ ttftMs: 150, tokensPerSecond: 0 });

    await service.stop();
    expect(service.child.exitCode).toBe(0);
    expect(service.lines.some((line) => line.includes('"shutting down"'))).toBe(true);
  });

  it('refuses to start with a bad variable and names it', async () => {
    await expect(startService({ name: 'sim-llm-bad', entry: 'apps/sim-llm/src/main.ts', env: { SIM_LLM_PORT: '0', SIM_LLM_TOKENS_PER_SECOND: 'fast' } })).rejects.toThrow(
      /SIM_LLM_TOKENS_PER_SECOND/,
    );
  });
});
