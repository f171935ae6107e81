import { type ChatCompletionRequest, EnsembleError, ErrorCode } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { clientControlledFeature, decideByRules, parseRoutingMode, parseSkipOrchestration } from './rules.js';

const plain: ChatCompletionRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const withTools: ChatCompletionRequest = { ...plain, tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] };
const withSchema: ChatCompletionRequest = { ...plain, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } };

function headers(values: Record<string, string>) {
  const lower = new Map(Object.entries(values).map(([name, value]) => [name.toLowerCase(), value]));
  return (name: string) => lower.get(name.toLowerCase());
}

function rejection(fn: () => unknown): EnsembleError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EnsembleError) return error;
    throw error;
  }
  throw new Error('expected an EnsembleError');
}

describe('decideByRules', () => {
  it('leaves a plain request to the classifier', () => {
    expect(decideByRules(plain, headers({}))).toBeUndefined();
    expect(decideByRules(plain, headers({ 'X-Routing-Mode': 'auto' }))).toBeUndefined();
    expect(decideByRules(plain, headers({ 'X-Skip-Orchestration': 'false' }))).toBeUndefined();
  });

  it('passes tools, legacy functions and JSON response formats straight through', () => {
    expect(decideByRules(withTools, headers({}))).toEqual({ path: 'passthrough', source: 'rule', reason: expect.stringContaining("'tools'") as string });
    expect(decideByRules(withSchema, headers({}))).toMatchObject({ path: 'passthrough', source: 'rule', reason: expect.stringContaining('response_format') as string });
    expect(decideByRules({ ...plain, functions: [{ name: 'f' }] }, headers({}))).toMatchObject({ source: 'rule', reason: expect.stringContaining('functions') as string });
    expect(decideByRules({ ...plain, response_format: { type: 'json_object' } }, headers({}))).toMatchObject({ path: 'passthrough', source: 'rule' });
  });

  it('does not count the default text format or an empty tool list as client control', () => {
    expect(clientControlledFeature({ ...plain, response_format: { type: 'text' } })).toBeUndefined();
    expect(clientControlledFeature({ ...plain, tools: [] })).toBeUndefined();
  });

  it('honours explicit header choices', () => {
    expect(decideByRules(plain, headers({ 'X-Skip-Orchestration': 'true' }))).toEqual({
      path: 'passthrough',
      source: 'header',
      reason: 'X-Skip-Orchestration: true',
    });
    expect(decideByRules(plain, headers({ 'x-routing-mode': ' Passthrough ' }))).toMatchObject({ path: 'passthrough', source: 'header' });
    expect(decideByRules(plain, headers({ 'X-Routing-Mode': 'orchestration' }))).toEqual({
      path: 'orchestration',
      source: 'header',
      reason: 'X-Routing-Mode: orchestration',
    });
  });

  it('lets an explicit opt-out win over the tools rule, and reports it as a header decision', () => {
    expect(decideByRules(withTools, headers({ 'X-Routing-Mode': 'passthrough' }))).toMatchObject({ source: 'header' });
    expect(decideByRules(withTools, headers({ 'X-Skip-Orchestration': '1' }))).toMatchObject({ source: 'header' });
  });

  it('sends a turn on a named session to the orchestrator, unless the client opts out or drives the model', () => {
    // "approve" alone reads as a simple question to a classifier; on a session it answers a paused workflow.
    const approve: ChatCompletionRequest = { ...plain, messages: [{ role: 'user', content: 'approve' }] };
    expect(decideByRules(approve, headers({ 'X-Session-ID': 'abc-123' }))).toEqual({
      path: 'orchestration',
      source: 'header',
      reason: 'X-Session-ID names a workflow session',
    });
    expect(decideByRules(plain, headers({ 'X-Session-ID': 'abc', 'X-Routing-Mode': 'auto' }))).toMatchObject({ path: 'orchestration' });
    expect(decideByRules(plain, headers({ 'X-Session-ID': '  ' }))).toBeUndefined();
    expect(decideByRules(plain, headers({ 'X-Session-ID': 'abc', 'X-Skip-Orchestration': 'true' }))).toMatchObject({ path: 'passthrough' });
    expect(decideByRules(withTools, headers({ 'X-Session-ID': 'abc' }))).toMatchObject({ path: 'passthrough', source: 'rule' });
  });

  it('rejects contradictory instructions with a 400 naming the conflict', () => {
    const skipConflict = rejection(() => decideByRules(plain, headers({ 'X-Routing-Mode': 'orchestration', 'X-Skip-Orchestration': 'yes' })));
    expect(skipConflict.code).toBe(ErrorCode.InvalidRequest);
    expect(skipConflict.status).toBe(400);
    expect(skipConflict.wireCode).toBe('conflicting_routing_options');
    const toolsConflict = rejection(() => decideByRules(withTools, headers({ 'X-Routing-Mode': 'orchestration' })));
    expect(toolsConflict.message).toContain("'tools'");
    expect(toolsConflict.details).toEqual({ param: 'tools' });
  });
});

describe('header parsing', () => {
  it('rejects an unknown routing mode with a 400 that lists the valid ones', () => {
    const error = rejection(() => parseRoutingMode('fast'));
    expect(error.status).toBe(400);
    expect(error.wireCode).toBe('invalid_routing_mode');
    expect(error.message).toContain('passthrough, orchestration, auto');
    expect(error.details).toEqual({ param: 'X-Routing-Mode' });
  });

  it('treats empty header values as absent', () => {
    expect(parseRoutingMode('')).toBeUndefined();
    expect(parseSkipOrchestration('  ')).toBeUndefined();
  });

  it('reads X-Skip-Orchestration booleans and rejects anything else', () => {
    expect(parseSkipOrchestration('TRUE')).toBe(true);
    expect(parseSkipOrchestration('off')).toBe(false);
    const error = rejection(() => parseSkipOrchestration('maybe'));
    expect(error.status).toBe(400);
    expect(error.details).toEqual({ param: 'X-Skip-Orchestration' });
  });

  it('truncates absurdly long header values in the error message', () => {
    const error = rejection(() => parseRoutingMode('x'.repeat(10_000)));
    expect(error.message.length).toBeLessThan(200);
  });
});
