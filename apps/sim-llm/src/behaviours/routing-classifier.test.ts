import { ChatCompletionRequest, ClassifierVerdict } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { toSimRequest } from '../sim-request.js';
import { classifiedText, classifyRouting, routingClassifier } from './routing-classifier.js';

const LONG_ANALYSIS =
  'Our support tickets doubled over the last quarter while the team stayed the same size. I would like you to analyze ' +
  'where the growth comes from, which product areas drive it, whether response times suffered, and what the ' +
  'implications are for hiring next year, with a short recommendation at the end.';

const cases: [string, boolean][] = [
  // Single questions and single transformations stay on the simple path.
  ["What's 2+2?", false],
  ['What is the capital of France?', false],
  ['Hello!', false],
  ['Can you explain what a closure is in JavaScript?', false],
  ["Translate 'good morning' into French", false],
  ['Summarize this text: The meeting covered budgets, then we compared vendors and planned next steps. Finally we left.', false],
  ['Rewrite the following paragraph in a friendlier tone:\nFirst do this. Then do that. Compare them and plan ahead.', false],
  ['What is 3.5 times 2?', false],
  ['', false],
  ['How do I restart a service after changing its config?', false],
  // Multi-step and multi-part asks go to the orchestrator.
  ['Research the top three vector databases and summarize their pricing', true],
  ['Compare PostgreSQL and MySQL for analytics workloads', true],
  ['Explain step by step how to migrate our database to a new server', true],
  ['Plan a three-day trip to Rome', true],
  ['Find the latest revenue figures, then draft an email to the team', true],
  ['What is the population of Tokyo? And what is the population of Paris?', true],
  ['Look up the weather in Paris. Book a table for two. Send me a summary.', true],
  ['Summarize this article and translate it to French', true],
  ['Please do the following:\n1. Fetch the sales data\n2. Chart it by region', true],
  [LONG_ANALYSIS, true],
  // Changes to running systems: an agent acts, after a person approves.
  ['Restart the payments service in production', true],
  ['Please roll back the search service in staging', true],
];

describe('classifyRouting', () => {
  it.each(cases)('%j → needs_orchestration %s', (text, expected) => {
    const verdict = classifyRouting(text);
    expect(verdict.needs_orchestration).toBe(expected);
    expect(verdict.reason.length).toBeGreaterThan(10);
  });

  it('is deterministic and explains multi-step verdicts', () => {
    const first = classifyRouting('Compare A and B, then plan the rollout');
    expect(classifyRouting('Compare A and B, then plan the rollout')).toEqual(first);
    expect(first.reason).toMatch(/^multi-step request: .*comparison.*plan/);
  });
});

function classifierRequest(messages: { role: 'system' | 'user' | 'assistant'; content: string }[]) {
  return toSimRequest(
    ChatCompletionRequest.parse({
      model: 'gpt-4o-mini',
      messages,
      response_format: { type: 'json_schema', json_schema: { name: 'routing_verdict', strict: true, schema: z.toJSONSchema(ClassifierVerdict) } },
    }),
  );
}

describe('routing-classifier behaviour', () => {
  it('reads the last user turn after a Conversation: line, not the classifier instructions', () => {
    const request = classifierRequest([
      { role: 'system', content: 'Decide whether a request needs a plan, several steps, or a comparison.' },
      {
        role: 'user',
        content: 'Classify the latest request.\nConversation:\nuser: Compare Redis and Memcached for caching\nassistant: Sure.\nuser: What is 2+2?',
      },
    ]);
    expect(classifiedText(request)).toBe('What is 2+2?');
    expect(routingClassifier.matches(request)).toBe(true);
    const reply = routingClassifier.reply(request);
    expect(ClassifierVerdict.parse(reply.json)).toMatchObject({ needs_orchestration: false });
  });

  it('takes the whole block after Conversation: when turns are not labelled', () => {
    const request = classifierRequest([{ role: 'user', content: 'Route this.\n\nConversation:\nResearch solar panels and compare prices' }]);
    expect(classifiedText(request)).toBe('Research solar panels and compare prices');
    expect(ClassifierVerdict.parse(routingClassifier.reply(request).json).needs_orchestration).toBe(true);
  });

  it('falls back to the last user message and ignores other schema names', () => {
    const request = classifierRequest([{ role: 'user', content: 'Compare apples and oranges' }]);
    expect(classifiedText(request)).toBe('Compare apples and oranges');
    const other = toSimRequest(
      ChatCompletionRequest.parse({
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: { name: 'execution_plan', schema: {} } },
      }),
    );
    expect(routingClassifier.matches(other)).toBe(false);
  });
});
