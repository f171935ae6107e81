import type { ReasoningEvent } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { reasoningLine } from './reasoning-text.js';

describe('reasoningLine', () => {
  it.each<[ReasoningEvent, string]>([
    [{ type: 'node_started', agent: 'search-agent', node: 'web-search', message: 'started' }, '[search-agent] web-search: started'],
    [{ type: 'node_started', agent: 'search-agent', node: 'web-search', message: 'Search the web' }, '[search-agent] web-search: started — Search the web'],
    [{ type: 'node_started', agent: 'search-agent', node: 'web-search', message: 'Attempt 2: Search', metadata: { attempt: 2 } }, '[search-agent] web-search: started (attempt 2) — Attempt 2: Search'],
    [{ type: 'planning', agent: 'orchestrator', message: 'Planning the work' }, '[orchestrator] Planning the work'],
    [{ type: 'plan_ready', agent: 'orchestrator', message: 'Compare offers', metadata: { plan: { nodes: [{}, {}, {}] } } }, '[orchestrator] plan ready (3 steps) — Compare offers'],
    [{ type: 'plan_ready', agent: 'orchestrator', message: 'One thing', metadata: { plan: { nodes: [{}] } } }, '[orchestrator] plan ready (1 step) — One thing'],
    [{ type: 'node_completed', agent: 'rag', node: 'lookup', message: 'Paris is the capital' }, '[rag] lookup: done — Paris is the capital'],
    [{ type: 'node_failed', agent: 'rag', node: 'lookup', message: 'timed out' }, '[rag] lookup: failed — timed out'],
    [{ type: 'node_retrying', agent: 'rag', node: 'lookup', message: 'Retrying in 500 ms after: timed out' }, '[rag] lookup: Retrying in 500 ms after: timed out'],
    [{ type: 'node_skipped', node: 'extra', message: 'condition false' }, '[ensemble] extra: skipped — condition false'],
    [{ type: 'tool_call', agent: 'reasoning-agent', node: 'compute', message: 'calculator(1234 * 5678)' }, '[reasoning-agent] compute: tool call — calculator(1234 * 5678)'],
    [{ type: 'approval_required', agent: 'deployer', node: 'deploy', message: 'Deploy 2.0?' }, '[deployer] deploy: needs approval — Deploy 2.0?'],
    [{ type: 'status', agent: 'rag', node: 'n1', message: 'working' }, '[rag] n1: working'],
    [{ type: 'synthesis', agent: 'orchestrator' }, '[orchestrator] synthesis'],
    [{ type: 'error', agent: 'orchestrator', message: 'The final synthesis failed' }, '[orchestrator] error — The final synthesis failed'],
  ])('%o -> %s', (event, line) => {
    expect(reasoningLine(event)).toBe(`${line}\n`);
  });

  it('keeps a line on one line and short', () => {
    const line = reasoningLine({ type: 'node_completed', agent: 'a', node: 'n', message: `first\n\nsecond ${'x'.repeat(500)}` });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(line.length).toBeLessThan(200);
    expect(line).toContain('done — first second x');
    expect(line.slice(0, -1).endsWith('…')).toBe(true);
  });
});
