import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { type Browser, type Locator, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { plan, planNode } from '@ensemble/workflow/testing/harness';
import { REPO_ROOT, stopAllServices } from '../support/processes.js';
import { API_TOKEN, OTHER_API_TOKEN, type Stack, readStream, startStack } from './support/stack.js';

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
  // Both settle before a failure is thrown (Chromium missing, a service that would not start), so
  // `afterAll` stops everything the stack started rather than what it had started by then.
  const [started, launched] = await Promise.allSettled([
    startStack({
      agents: [
        { name: 'researcher', delayMs: 2_500, statusUpdates: ['reading sources'] },
        { name: 'writer', reply: 'A short summary', delayMs: 2_500, statusUpdates: ['drafting'] },
        // Always asks for approval first (apps/mock-agents/src/presets.ts); sim-llm's planner sends "Restart ..." to it.
        { name: 'operations', preset: 'operations' },
      ],
    }),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS }),
  ]);
  if (started.status === 'fulfilled') stack = started.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  for (const result of [started, launched]) if (result.status === 'rejected') throw result.reason;
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

/** The graph's nodes: React Flow's `group`s named `id: agent skill, state` (its edges are named `Edge from ...`). */
function graphNodes(page: Page, name: RegExp = /^(?!Edge from )[^:\s]+: /): Locator {
  return page.getByRole('region', { name: 'Workflow graph' }).getByRole('group', { name });
}

/** The states of the graph's nodes as the page names them, e.g. `{ gather: 'done' }`. */
async function nodeStates(page: Page): Promise<Record<string, string>> {
  const labels = await Promise.all((await graphNodes(page).all()).map(async (node) => (await node.getAttribute('aria-label')) ?? ''));
  return Object.fromEntries(labels.map((label) => [label.slice(0, label.indexOf(':')), label.slice(label.lastIndexOf(', ') + 2)]));
}

/** Writes a README screenshot only when asked (`UPDATE_SCREENSHOTS=1`), so a test run leaves the tree clean. */
async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  if (process.env['UPDATE_SCREENSHOTS'] === '1') await page.screenshot({ path: join(IMAGES, name), ...options });
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
    await screenshot(page, 'console-dag.png');
    await page.reload();
    await expect.poll(() => nodeStates(page), { timeout: 15_000 }).toHaveProperty('gather');

    await expect.poll(() => nodeStates(page), { timeout: 30_000 }).toEqual({ gather: 'done', write: 'done' });
    // After a reload the same graph comes back, from the server, not from the page's memory.
    await page.reload();
    await expect.poll(() => nodeStates(page), { timeout: 15_000 }).toEqual({ gather: 'done', write: 'done' });
    // Nodes planned by agent alone (no skill): named and headed without a dangling separator.
    expect(await graphNodes(page, /^write: /).getAttribute('aria-label')).toBe('write: writer, done');
    await graphNodes(page, /^write: /).click();
    await expect.poll(() => page.getByLabel('Node write').textContent()).toContain('Output');
    expect(await page.getByLabel('Node write').getByRole('heading', { level: 3 }).textContent()).toBe('write: writer (done)');
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
    await screenshot(page, 'console-chat.png');
    await page.context().close();
  }, 120_000);

  it('pauses a chat for approval, shows it on the node and in the inbox, and approves edited arguments there', async () => {
    const page = await signedIn(API_TOKEN);
    await page.getByLabel('Routing mode').selectOption('orchestration');
    await page.getByLabel('Message').fill('Restart the payments service in production');
    await page.getByRole('button', { name: 'Send' }).click();

    // Workflows: the operations node pauses, with the approval inline.
    await page.getByRole('tab', { name: 'Workflows' }).click();
    const waiting = graphNodes(page, /: operations-agent .*, waiting for approval$/);
    await waiting.waitFor({ timeout: 60_000 });
    expect(await waiting.textContent()).toContain('Approval: restart the payments service in production');
    // The badge counts it (it refreshes every few seconds).
    await page.getByRole('tab', { name: /Approvals.*1 pending/ }).waitFor({ timeout: 15_000 });

    await page.getByRole('tab', { name: /Approvals/ }).click();
    const card = page.getByRole('article', { name: 'Approval restart the payments service in production' });
    await card.waitFor();
    const shown = (await card.textContent()) ?? '';
    expect(shown).toContain('The request asks for it: "Restart the payments service in production"');
    expect(shown).toContain('In-flight requests to payments may fail while it changes');
    expect(shown).toContain('The payments service in production is briefly unavailable or changes behaviour');
    expect(shown).toContain('"environment": "production"');
    expect(shown).toMatch(/\b2[34] h \d+ min left/); // the stack's default deadline: 24 h
    await screenshot(page, 'console-approvals.png', { fullPage: true });

    // Edit: a value the agent's schema refuses is caught in the page, and nothing is decided.
    await card.getByRole('button', { name: 'Edit' }).click();
    const editor = card.getByRole('textbox', { name: 'Arguments JSON' });
    await editor.fill(JSON.stringify({ operation: 'restart', service: 'payments', environment: 'moon' }));
    await card.getByRole('button', { name: 'Approve with these arguments' }).click();
    await card.getByRole('alert').filter({ hasText: 'environment must be one of' }).waitFor();
    const [pending] = ((await (await stack.request('/v1/approvals?status=pending')).json()) as { data: { id: string; status: string }[] }).data;
    expect(pending?.status).toBe('pending');

    const edited = { operation: 'restart', service: 'payments', environment: 'staging' };
    await editor.fill(JSON.stringify(edited));
    await card.getByRole('button', { name: 'Approve with these arguments' }).click();
    await card.waitFor({ state: 'detached' });
    await page.getByText('No approval is waiting.').waitFor();

    // The agent acted on exactly the edited arguments; the node finishes and the answer arrives.
    const acted = await stack.agents['operations']!.waitForLine((line) => line['msg'] === 'acting on the approved arguments');
    expect(acted['arguments']).toEqual(edited);
    await page.getByRole('tab', { name: 'Workflows' }).click();
    const done = graphNodes(page, /: operations-agent .*, done$/);
    await done.waitFor({ timeout: 60_000 });
    await page.getByRole('region', { name: 'Workflow answer' }).getByRole('heading', { name: 'Answer (completed)' }).waitFor({ timeout: 60_000 });
    expect((await page.getByRole('region', { name: 'Workflow answer' }).textContent())?.length).toBeGreaterThan('Answer (completed)'.length + 1);
    const sessionId = decodeURIComponent(new URL(page.url()).hash.replace('#/sessions/', ''));
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await done.click();
    await expect.poll(() => page.getByRole('region', { name: /^Node / }).getByRole('heading', { name: 'Output' }).count()).toBe(1);
    expect(await page.getByRole('region', { name: /^Node / }).textContent()).toContain('Done: restart of the payments service in staging completed.');

    // History: approved, with the edited arguments.
    await page.getByRole('tab', { name: /Approvals/ }).click();
    await page.getByRole('tab', { name: 'History' }).click();
    const row = page.getByRole('row', { name: /restart the payments service in production\s*approved/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('"environment":"staging"');
    await expect.poll(() => page.getByRole('tab', { name: /Approvals/ }).textContent(), { timeout: 15_000 }).toBe('Approvals');

    // Sessions: the finished session stays listed (from its event log), can be opened, not cancelled.
    await page.getByRole('tab', { name: 'Sessions' }).click();
    const session = page.getByRole('row', { name: new RegExp(`${sessionId}\\s*completed \\(finished\\)`) });
    await session.waitFor({ timeout: 15_000 });
    expect(await session.getByRole('button', { name: `Cancel ${sessionId}` }).isDisabled()).toBe(true);
    await session.getByRole('button', { name: `Open ${sessionId}` }).click();
    await page.getByRole('tab', { name: 'Workflows', selected: true }).waitFor();
    await graphNodes(page, /: operations-agent .*, done$/).waitFor({ timeout: 15_000 });
    await page.context().close();
  }, 180_000);

  it('shows a second principal none of the first one\'s sessions or approvals, and refuses its session by link', async () => {
    // The first principal: a session paused on an approval (asked through the API, like any client).
    const first = await stack.openai.chat.completions.create({ model: 'ensemble', messages: [{ role: 'user', content: 'Delete the reports service in staging' }], stream: true }).withResponse();
    await readStream(first.data);
    const sessionId = first.response.headers.get('x-session-id') ?? '';
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const theirs = ((await (await stack.request(`/v1/approvals?session_id=${sessionId}`)).json()) as { data: unknown[] }).data;
    expect(theirs).toHaveLength(1);

    const page = await signedIn(OTHER_API_TOKEN);
    await page.getByRole('tab', { name: 'Sessions' }).click();
    await page.getByRole('region', { name: 'Sessions' }).getByText('No sessions yet.').waitFor();
    await page.getByRole('tab', { name: /Approvals/ }).click();
    await page.getByText('No approval is waiting.').waitFor();
    await page.getByRole('tab', { name: 'History' }).click();
    await page.getByRole('region', { name: 'Approvals' }).getByRole('table').waitFor();
    expect(await page.getByRole('region', { name: 'Approvals' }).getByRole('row').count()).toBe(1); // the header only
    expect(await page.getByRole('tab', { name: /Approvals/ }).textContent()).toBe('Approvals');

    // The first principal's session by link: a clear error, no graph.
    await page.goto(`${stack.gateway.url}/console#/sessions/${sessionId}`);
    await page.getByRole('tab', { name: 'Workflows', selected: true }).waitFor();
    const error = page.getByRole('alert').filter({ hasText: `Cannot open session ${sessionId}` });
    await error.waitFor({ timeout: 15_000 });
    expect(await error.textContent()).toContain('not found');
    expect(await nodeStates(page)).toEqual({});
    await page.context().close();
  }, 120_000);
});
