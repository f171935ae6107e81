import { ChatCompletionRequest } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { toSimRequest } from '../sim-request.js';
import { parseAgentResults, workflowSynthesis } from './workflow-synthesis.js';

const PROMPT = [
  'User request:',
  'Compare HNSW with IVFFlat and compute 2 * 21.',
  '',
  'Goal: Compare and compute',
  '',
  'Agent results:',
  '',
  '### retrieve (rag-agent): Find index docs',
  'HNSW builds a layered graph [1]. IVFFlat clusters vectors into lists. More detail follows here.',
  '',
  '### compute (reasoning-agent): Compute the product',
  'calculator gives 2 * 21 = 42.',
  '',
  '### search (search-agent): Search the web',
  '[failed: search-agent is unreachable]',
].join('\n');

function request(content: string, extra: Record<string, unknown> = {}) {
  return toSimRequest(ChatCompletionRequest.parse({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You are the final step.' }, { role: 'user', content }], ...extra }));
}

describe('workflow-synthesis behaviour', () => {
  it('parses every agent result section in order', () => {
    expect(parseAgentResults(PROMPT).map((section) => [section.node, section.agent, section.body.slice(0, 20)])).toEqual([
      ['retrieve', 'rag-agent', 'HNSW builds a layere'],
      ['compute', 'reasoning-agent', 'calculator gives 2 *'],
      ['search', 'search-agent', '[failed: search-agen'],
    ]);
  });

  it('answers from the results, one line per agent, keeping failures visible', () => {
    const synthesis = request(PROMPT);
    expect(workflowSynthesis.matches(synthesis)).toBe(true);
    const content = workflowSynthesis.reply(synthesis).content ?? '';
    expect(content).toContain('Combined answer from 3 agent results');
    expect(content).toContain('- **Find index docs** (rag-agent): HNSW builds a layered graph [1].');
    expect(content).toContain('calculator gives 2 * 21 = 42.');
    expect(content).toContain('[failed: search-agent is unreachable]');
    expect(content).not.toContain('User request:');
  });

  it('leaves other prompts, structured outputs and tool calls alone', () => {
    expect(workflowSynthesis.matches(request('What is 2+2?'))).toBe(false);
    expect(workflowSynthesis.matches(request(PROMPT, { response_format: { type: 'json_object' } }))).toBe(false);
    expect(
      workflowSynthesis.matches(request(PROMPT, { tools: [{ type: 'function', function: { name: 'calculator', parameters: { type: 'object' } } }] })),
    ).toBe(false);
  });
});
