import { type ExecutionPlan, PLANNER_PROMPT_SECTIONS } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import type { PlannerAgent } from './catalog.js';
import { MAX_OUTPUT_CHARS, buildPlanningMessages, correctionMessages } from './prompt.js';

const catalog: PlannerAgent[] = [
  { name: 'search-agent', description: 'Searches the web', skills: [{ id: 'web-search', name: 'Web search', description: 'Finds pages', tags: ['search'], examples: ['latest Node.js'] }] },
];

const plan: ExecutionPlan = {
  goal: 'g',
  rationale: 'r',
  nodes: [{ id: 'a', agent: 'search-agent', skill: 'web-search', input: '{{request}}', dependsOn: [], condition: null, retry: { maxAttempts: 1, backoffMs: 0 }, timeoutMs: 1000, fallbackAgent: null, description: 'd' }],
};

function content(message: { content?: unknown } | undefined): string {
  return typeof message?.content === 'string' ? message.content : '';
}

/** The JSON on the line after a section header. */
function section(text: string, header: string): unknown {
  const lines = text.split('\n');
  const at = lines.findIndex((line) => line.startsWith(header));
  expect(at, `${header} missing`).toBeGreaterThanOrEqual(0);
  return JSON.parse(lines[at + 1] ?? '');
}

describe('buildPlanningMessages', () => {
  it('states the rules, puts the catalog as JSON after its header, and the request verbatim as the first user turn', () => {
    const messages = buildPlanningMessages({ request: '  Compare A and B  ', catalog, maxNodes: 50 });
    expect(messages.map((message) => message.role)).toEqual(['system', 'user']);
    const system = content(messages[0]);
    expect(section(system, PLANNER_PROMPT_SECTIONS.catalog)).toEqual(catalog);
    for (const rule of ['Use only the agents and skill ids listed', 'run in parallel', '3 to 5 or more nodes', '{{nodes.<id>.output}}', 'A "condition" may only test a node that the conditioned node depends on', 'combines their results', 'Never more than 50 nodes']) {
      expect(system).toContain(rule);
    }
    expect(content(messages[1])).toBe('  Compare A and B  ');
  });

  it('adds earlier conversation to the system prompt for context, truncating long turns', () => {
    const messages = buildPlanningMessages({ request: 'now this', catalog, maxNodes: 50, conversation: [{ role: 'user', content: 'before' }, { role: 'assistant', content: 'x'.repeat(5_000) }] });
    const system = content(messages[0]);
    expect(system).toContain('user: before');
    expect(system).toMatch(/assistant: x{2000}… \[truncated, 3000 more characters\]/);
    expect(messages).toHaveLength(2);
  });

  it('for a revision, adds a turn with the reason, the current plan and the (truncated) results', () => {
    const messages = buildPlanningMessages({
      request: 'req',
      catalog,
      maxNodes: 50,
      replan: { plan, results: { a: { status: 'completed', output: 'y'.repeat(MAX_OUTPUT_CHARS + 10) } }, reason: 'found\nsomething new' },
    });
    expect(messages.map((message) => message.role)).toEqual(['system', 'user', 'user']);
    const turn = content(messages[2]);
    expect(turn).toContain(`${PLANNER_PROMPT_SECTIONS.reason} found something new`);
    expect(turn).toContain('keep each of them in the plan unchanged');
    expect(section(turn, PLANNER_PROMPT_SECTIONS.currentPlan)).toEqual(plan);
    const results = section(turn, PLANNER_PROMPT_SECTIONS.results) as Record<string, { status: string; output: string }>;
    expect(results['a']?.status).toBe('completed');
    expect(results['a']?.output).toMatch(/^y{1500}… \[truncated, 10 more characters\]$/);
  });
});

describe('correctionMessages', () => {
  it('replays the invalid plan and lists every problem', () => {
    const messages = correctionMessages('{"goal":"x"}', ['nodes[0].agent: unknown', 'plan: cycle a -> b -> a'], 2);
    expect(messages).toEqual([
      { role: 'assistant', content: '{"goal":"x"}' },
      { role: 'user', content: 'The plan of attempt 2 is not valid:\n- nodes[0].agent: unknown\n- plan: cycle a -> b -> a\nReturn a corrected plan that fixes every problem, using only the listed agents and skill ids.' },
    ]);
  });

  it('without a parsable previous answer, only the problems', () => {
    expect(correctionMessages(undefined, ['not JSON'], 1).map((message) => message.role)).toEqual(['user']);
  });
});
