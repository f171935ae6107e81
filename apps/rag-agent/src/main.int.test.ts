import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startService, stopAllServices } from '../../../test/support/processes.js';

/**
 * The real process: configuration, the embedded database opened in-process (no server holds the data
 * directory), the start-up seed and its idempotence across restarts, and refusing to start on an
 * embedding space that does not match the stored one.
 */
let dataRoot: string;
let env: Record<string, string>;

beforeAll(async () => {
  dataRoot = await mkdtemp(join(tmpdir(), 'ensemble-rag-main-'));
  env = {
    RAG_AGENT_PORT: '0',
    EMBEDDED_PG_DATA_DIR: join(dataRoot, 'pglite'),
    RAG_SEED_PATHS: 'data/sample-corpus',
    RAG_TASK_STORE: 'memory',
    // Never called by these tests; a closed port makes any accidental call fail fast.
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
  };
});

afterAll(async () => {
  await stopAllServices();
  await rm(dataRoot, { recursive: true, force: true });
});

describe('rag-agent main', () => {
  it('opens the data directory itself, seeds the corpus before listening, and serves its card', async () => {
    const agent = await startService({ name: 'rag-agent', entry: 'apps/rag-agent/src/main.ts', env, timeoutMs: 60_000 });
    expect(await agent.waitForLine((line) => line['msg'] === 'knowledge base database resolved')).toMatchObject({ mode: 'in-process', embedding_model: 'ensemble-lexical-v1', dimension: 384 });
    expect(await agent.waitForLine((line) => line['msg'] === 'knowledge base seeded')).toMatchObject({ files: 6, added: 6, unchanged: 0, skipped: 0 });
    const card = (await (await fetch(`${agent.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).json()) as { name: string; skills: { id: string }[] };
    expect(card.name).toBe('rag-agent');
    expect(card.skills.map((skill) => skill.id)).toEqual(['document-retrieval']);
    await agent.stop();
    expect(agent.child.exitCode).toBe(0);
  });

  it('changes nothing when restarted over the same corpus, and shuts down cleanly when stopped as soon as it listens', async () => {
    const agent = await startService({ name: 'rag-agent', entry: 'apps/rag-agent/src/main.ts', env, timeoutMs: 60_000 });
    // Signalled right after `listening` (the seed's line came before it): handled, not the default death.
    await agent.stop();
    expect(agent.child.exitCode).toBe(0);
    expect(agent.lines.some((line) => line.includes('"msg":"shutting down"'))).toBe(true);
    expect(await agent.waitForLine((line) => line['msg'] === 'knowledge base seed: nothing changed')).toMatchObject({ files: 6, added: 0, updated: 0, unchanged: 6 });
  });

  it('refuses to start when the embedding model changed, saying how to re-index', async () => {
    const started = startService({ name: 'rag-agent', entry: 'apps/rag-agent/src/main.ts', env: { ...env, EMBEDDING_DIMENSION: '128' }, timeoutMs: 60_000 });
    await expect(started).rejects.toThrow(/exited \(code 1\)/);
    await expect(started).rejects.toThrow(/was indexed with embedding model \\"ensemble-lexical-v1\\" \(dimension 384\).*--reindex/);
  });
});
