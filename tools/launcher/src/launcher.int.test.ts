import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../../../test/support/processes.js';
import { testRedis } from '../../../test/support/redis.js';

/**
 * `make up` for real: the launcher starts every service as its own process (all on port 0, so it never
 * collides with a running `make up`), the system answers a simple and a complex request through the
 * gateway, and Ctrl-C (SIGINT to the whole process group) stops everything without a crash report or a
 * restart, and leaves no process behind.
 */
const redis = testRedis();
let launcher: ChildProcess;
let exited: Promise<unknown>;
let dataDir: string;
const output: string[] = [];
let banner: Promise<string>;

const PORTS = [
  'SIM_LLM_PORT',
  'EMBEDDED_PG_PORT',
  'MCP_TOOLS_PORT',
  'MOCK_AGENTS_BASE_PORT',
  'REASONING_AGENT_PORT',
  'RAG_AGENT_PORT',
  'PLANNING_AGENT_PORT',
  'ORCHESTRATOR_PORT',
  'GATEWAY_PORT',
];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ensemble-launcher-'));
  const env: Record<string, string | undefined> = { ...process.env, REDIS_KEY_PREFIX: redis.prefix, ENSEMBLE_DATA_DIR: dataDir, LAUNCHER_LOG_FORMAT: 'json', LOG_LEVEL: 'info' };
  for (const name of PORTS) env[name] = '0';
  // The embedded defaults: sim-llm and the embedded database, whatever the developer's shell says.
  for (const name of ['OPENAI_BASE_URL', 'OPENAI_API_KEY', 'DATABASE_URL', 'API_TOKENS', 'AGENT_AUTH_TOKENS', 'OTEL_EXPORTER_OTLP_ENDPOINT']) delete env[name];
  // A process group of its own, as a terminal runs `make up`, so the test can Ctrl-C the whole group.
  launcher = spawn(process.execPath, ['--import', 'tsx', 'tools/launcher/src/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  exited = once(launcher, 'exit');
  banner = new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      output.push(line);
      const gateway = /^\s+gateway\s+(http:\/\/\S+)/.exec(line);
      if (gateway?.[1] !== undefined) resolve(gateway[1]);
    };
    createInterface({ input: launcher.stdout! }).on('line', onLine);
    createInterface({ input: launcher.stderr! }).on('line', onLine);
    void exited.then(() => reject(new Error(`launcher exited before its banner:\n${output.slice(-40).join('\n')}`)));
  });
}, 30_000);

afterAll(async () => {
  if (launcher.exitCode === null && launcher.signalCode === null) {
    launcher.kill('SIGINT');
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
  await redis.cleanup();
}, 60_000);

interface ProcessInfo {
  pid: number;
  command: string;
}

/** Every process below `pid` (children, grandchildren, ...), with its command line for failure messages. */
function descendants(pid: number): ProcessInfo[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((row) => {
      const [child = '', parent = '', ...args] = row.trim().split(/\s+/);
      return { pid: Number(child), ppid: Number(parent), command: args.join(' ') };
    });
  const found: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const row of table) {
      if (row.ppid === parent) {
        found.push({ pid: row.pid, command: row.command });
        queue.push(row.pid);
      }
    }
  }
  return found;
}

function alive(info: ProcessInfo): boolean {
  try {
    process.kill(info.pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('make up', () => {
  it('starts every service, answers simple and complex requests, and stops them all on Ctrl-C', async () => {
    const gatewayUrl = await banner;
    const text = output.join('\n');
    for (const service of ['sim-llm', 'embedded-postgres', 'mcp-tools', 'mock-search', 'mock-analysis', 'mock-operations', 'planning-agent', 'orchestrator', 'gateway']) {
      expect(text, service).toMatch(new RegExp(`^\\s+${service}\\s+\\S+`, 'm'));
    }
    const children = descendants(launcher.pid!);
    expect(children.length).toBeGreaterThanOrEqual(10);

    const client = new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
    const simple = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is 2+2?' }] }, { headers: { 'X-Routing-Mode': 'passthrough' } });
    expect(simple.choices[0]?.message.content).toContain('[sim-llm]');

    const { data, response } = await client.chat.completions
      .create(
        { model: 'ensemble', stream: true, messages: [{ role: 'user', content: 'Search the web for the latest Node.js release, then analyse what changed for our upgrade' }] },
        { headers: { 'X-Routing-Mode': 'orchestration' } },
      )
      .withResponse();
    expect(response.headers.get('x-session-id')).toMatch(/^[0-9a-f-]{36}$/);
    let content = '';
    const agents = new Set<string>();
    let finish: string | null | undefined;
    for await (const chunk of data) {
      content += chunk.choices[0]?.delta.content ?? '';
      const event = (chunk.choices[0]?.delta as { reasoning_event?: { type: string; agent?: string } } | undefined)?.reasoning_event;
      if (event?.type === 'node_completed' && event.agent !== undefined) agents.add(event.agent);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('stop');
    expect(content.length).toBeGreaterThan(20);
    expect(agents.size).toBeGreaterThanOrEqual(1);

    // Ctrl-C: SIGINT to every process of the group at once (launcher and services alike).
    process.kill(-launcher.pid!, 'SIGINT');
    await exited;
    expect(launcher.exitCode).toBe(0);
    // A stop in progress is neither reported as a crash nor answered with restarts.
    expect(output.filter((line) => /exited unexpectedly|restarting|restart failed/.test(line))).toEqual([]);
    // The launcher waited for each service it started; anything a service started itself gets a moment
    // to follow its parent out.
    await expect.poll(() => children.filter(alive), { timeout: 5_000, interval: 50 }).toEqual([]);
    expect(output.join('\n')).toContain('all stopped');
  }, 240_000);
});
