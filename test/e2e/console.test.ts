import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { REPO_ROOT, stopAllServices } from '../support/processes.js';
import { API_TOKEN, type Stack, startStack } from './support/stack.js';

/**
 * The console in real Chromium (Debian's, driven by playwright-core) against the real stack: sign-in,
 * a chat answered by the orchestrator with agent progress beside it, and the workflow graph reaching
 * its states from the session's event log (and the same graph after a reload). Screenshots go
 * to docs/images/ for the README.
 */
const CHROMIUM = '/usr/bin/chromium';
// Without the networking flags Chromium stalls on refused connections here (see NOTES.md).
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const IMAGES = join(REPO_ROOT, 'docs', 'images');

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  // `make test` builds the console in its set-up; a direct vitest run builds it here if it is missing.
  if (!existsSync(join(REPO_ROOT, 'apps/console/dist/index.html'))) execFileSync('npm', ['run', '--silent', 'build:console'], { cwd: REPO_ROOT, stdio: 'inherit' });
  await mkdir(IMAGES, { recursive: true });
  [stack, browser] = await Promise.all([
    startStack({ agents: [{ name: 'researcher', delayMs: 2_500, statusUpdates: ['reading sources'] }, { name: 'writer', reply: 'A short summary', delayMs: 2_500, statusUpdates: ['drafting'] }] }),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS }),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await stopAllServices();
});

async function signedIn(token: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(`${stack.gateway.url}/console`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('tab', { name: 'Chat' }).waitFor();
  return page;
}

/** The states of the graph's nodes as the page names them, e.g. `{ gather: 'done' }`. */
async function nodeStates(page: Page): Promise<Record<string, string>> {
  const labels = await Promise.all((await page.locator('[data-testid^="node-"]').all()).map(async (node) => (await node.getAttribute('aria-label')) ?? ''));
  return Object.fromEntries(labels.map((label) => [label.slice(0, label.indexOf(':')), label.slice(label.lastIndexOf(', ') + 2)]));
}

describe('the console', () => {
  it('refuses a wrong token with a clear message', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${stack.gateway.url}/console`);
    await page.getByLabel('API token').fill('sk-not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Sign-in failed: Invalid bearer token');
    expect(await page.getByRole('tab').count()).toBe(0);
    await page.context().close();
  });

  it('chats with agent progress beside the answer, then shows the workflow graph reaching its states, also after a reload', async () => {
    await stack.pinPlan('[console]', plan(planNode('gather', 'researcher', 'gather facts'), planNode('write', 'writer', 'write it up: {{nodes.gather.output}}', { dependsOn: ['gather'] })));
    const page = await signedIn(API_TOKEN);
    await page.getByLabel('Routing mode').selectOption('orchestration');
    await page.getByLabel('Message').fill('[console] Summarise the quarterly notes');
    await page.getByRole('button', { name: 'Send' }).click();

    const progress = page.getByLabel('Agent progress');
    await expect.poll(() => progress.textContent(), { timeout: 30_000 }).toContain('[researcher · node gather] node_started');
    await expect.poll(() => page.locator('.decision').first().textContent()).toContain('orchestration');

    // Mid-run: the graph shows the first node running and the second waiting on it.
    await page.getByRole('tab', { name: 'Workflows' }).click();
    const midRun = async () => {
      const states = await nodeStates(page);
      return /running|done/.test(states['gather'] ?? '') && /pending|running/.test(states['write'] ?? '');
    };
    await expect.poll(midRun, { timeout: 30_000 }).toBe(true);
    await page.screenshot({ path: join(IMAGES, 'console-dag.png') });
    await page.reload();
    await expect.poll(() => nodeStates(page), { timeout: 15_000 }).toHaveProperty('gather');

    await expect.poll(() => nodeStates(page), { timeout: 30_000 }).toEqual({ gather: 'done', write: 'done' });
    // After a reload the same graph comes back, from the server, not from the page's memory.
    await page.reload();
    await expect.poll(() => nodeStates(page), { timeout: 15_000 }).toEqual({ gather: 'done', write: 'done' });
    await page.locator('[data-testid="node-write"]').click();
    await expect.poll(() => page.getByLabel('Node write').textContent()).toContain('Output');
    await page.context().close();
  }, 120_000);

  it('shows the chat answer streaming with progress attributed by agent and node', async () => {
    await stack.pinPlan('[console-chat]', plan(planNode('gather', 'researcher', 'gather facts'), planNode('write', 'writer', 'write it up', { dependsOn: ['gather'] })));
    const page = await signedIn(API_TOKEN);
    await page.getByLabel('Routing mode').selectOption('orchestration');
    await page.getByLabel('Message').fill('[console-chat] What changed this quarter?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('[aria-label="Answer"][aria-busy="false"]').waitFor({ timeout: 60_000 });
    const progress = await page.getByLabel('Agent progress').textContent();
    expect(progress).toContain('[researcher · node gather]');
    expect(progress).toContain('[writer · node write]');
    expect((await page.getByLabel('Answer').textContent())?.length).toBeGreaterThan('Routing: '.length);
    await page.screenshot({ path: join(IMAGES, 'console-chat.png') });
    await page.context().close();
  }, 120_000);
});
