import { EnsembleError, ErrorCode, type ExecutionPlan, type PlanNode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { type AgentCatalog, type PlanIssueCode, assertValidPlan, formatPlanIssues, validatePlan } from './validate.js';

function node(id: string, overrides: Partial<PlanNode> = {}): PlanNode {
  return { id, agent: 'search', skill: null, input: 'look up {{request}}', dependsOn: [], condition: null, retry: { maxAttempts: 2, backoffMs: 100 }, timeoutMs: 30_000, fallbackAgent: null, description: id, ...overrides };
}
const plan = (...nodes: PlanNode[]): ExecutionPlan => ({ goal: 'g', rationale: 'r', nodes });

const catalog: AgentCatalog = {
  agents: [
    { name: 'search', skills: ['web_search'], available: true },
    { name: 'reasoning', skills: ['analyze', 'summarize'], available: true },
    { name: 'backup-search', skills: ['web_search'], available: true },
    { name: 'offline', skills: ['translate'], available: false },
  ],
};

function codes(input: unknown, options: Parameters<typeof validatePlan>[1] = {}): PlanIssueCode[] {
  const result = validatePlan(input, options);
  return result.ok ? [] : result.issues.map((issue) => issue.code);
}

describe('validatePlan', () => {
  it('accepts a well-formed parallel plan with a join and a condition', () => {
    const result = validatePlan(
      plan(
        node('web', { skill: 'web_search' }),
        node('news', { agent: null, skill: 'web_search', fallbackAgent: 'backup-search' }),
        node('summary', { agent: 'reasoning', skill: 'summarize', dependsOn: ['web', 'news'], input: '{{nodes.web.output}} {{nodes.news.output}}' }),
        node('deep', { agent: 'reasoning', dependsOn: ['summary'], condition: { node: 'web', operator: 'contains', value: 'unclear' }, input: '{{nodes.web.output}}' }),
      ),
      { catalog },
    );
    expect(result).toMatchObject({ ok: true });
  });

  it('reports schema problems with their path', () => {
    const result = validatePlan({ goal: 'g', rationale: 'r', nodes: [{ ...node('Bad Id'), agent: null, skill: null }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.every((issue) => issue.code === 'schema')).toBe(true);
    expect(result.issues.map((issue) => issue.path).sort()).toEqual(['nodes[0].agent', 'nodes[0].id']);
  });

  it('collects every problem at once instead of stopping at the first', () => {
    const result = validatePlan(
      plan(
        node('a'),
        node('a'),
        node('b', { dependsOn: ['ghost'] }),
        node('c', { input: '{{nodes.a.output}} {{nodes.nowhere.output}} {{user}}' }),
        node('d', { condition: { node: 'a', operator: 'matches', value: '(' }, dependsOn: ['a'] }),
        node('e', { condition: { node: 'a', operator: 'contains', value: null }, dependsOn: ['a'] }),
      ),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => [issue.code, issue.node])).toEqual([
      ['duplicate_id', 'a'],
      ['dangling_dependency', 'b'],
      ['reference_not_dependency', 'c'],
      ['dangling_reference', 'c'],
      ['unknown_template_variable', 'c'],
      ['invalid_condition', 'd'],
      ['invalid_condition', 'e'],
    ]);
    expect(result.issues[0]?.message).toBe('Node id "a" is used by nodes[0] and nodes[1]');
    expect(formatPlanIssues(result.issues)).toContain('- nodes[2].dependsOn[0]: Node "b" depends on "ghost", which is not in the plan');
  });

  it('names each cycle and reports nodes that depend on it as unreachable', () => {
    const result = validatePlan(plan(node('a', { dependsOn: ['c'] }), node('b', { dependsOn: ['a'] }), node('c', { dependsOn: ['b'] }), node('self', { dependsOn: ['self'] }), node('victim', { dependsOn: ['b'] }), node('fine')));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const messages = result.issues.map((issue) => `${issue.code}: ${issue.message}`);
    expect(messages).toContain('cycle: Dependency cycle: a -> c -> b -> a');
    expect(messages).toContain('cycle: Dependency cycle: self -> self');
    expect(messages).toContain('unreachable: Node "victim" can never run: it depends on "b", which is in a cycle or waits for a missing node');
    expect(result.issues.filter((issue) => issue.code === 'unreachable').map((issue) => issue.node)).toEqual(['victim']);
  });

  it('requires referenced outputs and condition nodes to be transitive dependencies', () => {
    expect(codes(plan(node('a'), node('b', { dependsOn: ['a'] }), node('c', { dependsOn: ['b'], input: '{{nodes.a.output}}', condition: { node: 'a', operator: 'succeeded', value: null } })))).toEqual([]);
    expect(codes(plan(node('a'), node('b'), node('c', { dependsOn: ['b'], input: '{{nodes.a.output}}', condition: { node: 'a', operator: 'failed', value: null } })))).toEqual(['reference_not_dependency', 'condition_not_dependency']);
  });

  it('checks agents, skills and fallbacks against the catalog', () => {
    const result = validatePlan(
      plan(
        node('a', { agent: 'wizard' }),
        node('b', { agent: 'search', skill: 'summarize' }),
        node('c', { agent: null, skill: 'teleport' }),
        node('d', { agent: null, skill: 'translate' }),
        node('e', { agent: 'search', fallbackAgent: 'search' }),
        node('f', { agent: 'search', skill: 'web_search', fallbackAgent: 'reasoning' }),
      ),
      { catalog },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => [issue.code, issue.path])).toEqual([
      ['unknown_agent', 'nodes[0].agent'],
      ['unknown_skill', 'nodes[1].agent'],
      ['unknown_skill', 'nodes[2].skill'],
      ['agent_unavailable', 'nodes[3].skill'],
      ['invalid_fallback', 'nodes[4].fallbackAgent'],
      ['unknown_skill', 'nodes[5].fallbackAgent'],
    ]);
    expect(result.issues[0]?.message).toBe('Node "a" agent "wizard" is not a known agent (known: search, reasoning, backup-search, offline)');
  });

  it('enforces size limits: nodes, fan-in, depth and input length', () => {
    const chain = Array.from({ length: 4 }, (_, index) => node(`n${index}`, { dependsOn: index === 0 ? [] : [`n${index - 1}`] }));
    expect(codes(plan(...chain), { limits: { maxDepth: 3 } })).toEqual(['too_deep']);
    expect(codes(plan(...chain), { limits: { maxNodes: 3 } })).toEqual(['too_many_nodes']);
    expect(codes(plan(node('a'), node('b'), node('c', { dependsOn: ['a', 'b'] })), { limits: { maxFanIn: 1 } })).toEqual(['too_many_dependencies']);
    expect(codes(plan(node('a', { input: 'x'.repeat(101) })), { limits: { maxInputLength: 100 } })).toEqual(['input_too_long']);
  });

  it('assertValidPlan throws invalid_request carrying every issue', () => {
    let caught: unknown;
    try {
      assertValidPlan(plan(node('a', { dependsOn: ['a'] })));
    } catch (error) {
      caught = error;
    }
    expect(EnsembleError.is(caught, ErrorCode.InvalidRequest)).toBe(true);
    expect((caught as EnsembleError).status).toBe(400);
    expect((caught as EnsembleError).details?.['issues']).toEqual([{ code: 'cycle', path: 'nodes[0].dependsOn', node: 'a', message: 'Dependency cycle: a -> a' }]);
  });
});
