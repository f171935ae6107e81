import type { ChatMessage } from '@ensemble/protocol';
import { describe, expect, it } from 'vitest';

import { STRUCTURAL_FEATURES, extractFeatures, featureWindow } from './features.js';
import { createLocalRoutingClassifier, defaultLocalRoutingModel } from './local-classifier.js';
import { type LocalRoutingModel, orchestrationProbability } from './model.js';
import { obviousPassthrough } from './obvious-cases.js';

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];

/** A model that knows nothing: probability 0.5 for every text, so it is never confident. */
function blankModel(bias = 0): LocalRoutingModel {
  const shipped = defaultLocalRoutingModel();
  return { ...shipped, bias, weights: shipped.weights.map(() => 0), structuralWeights: shipped.structuralWeights.map(() => 0) };
}

describe('the shipped local classifier', () => {
  const local = createLocalRoutingClassifier({ threshold: 0.9 });

  it('decides clear multi-step, tool-using and approval requests as orchestration', () => {
    for (const text of [
      'Research the three largest EV makers and compare their operating margins over the last two years, then recommend one to invest in.',
      'Deploy the latest build to production and notify the team on Slack.',
      'Go through my inbox, find all invoices from last month, and put the amounts in a spreadsheet.',
    ]) {
      expect(local.classify(user(text)), text).toMatchObject({ path: 'orchestration', confidence: expect.any(Number) as number });
    }
  });

  it('decides clear single questions, rewrites and small talk as passthrough', () => {
    for (const text of ['What is the capital of France?', 'Write a short poem about the sea', 'hello!', 'Thanks a lot', '(12 + 30) * 2 = ?']) {
      expect(local.classify(user(text)).path, text).toBe('passthrough');
    }
    expect(local.classify(user('hello!'))).toEqual({ path: 'passthrough', confidence: 1, reason: 'small talk: one reply answers it' });
  });

  it('reads the latest user message, not the system prompt or earlier turns', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are an agent that researches, compares and deploys things, then emails the team.' },
      { role: 'user', content: 'What is the capital of France?' },
    ];
    expect(local.classify(messages).path).toBe('passthrough');
    expect(local.classify([{ role: 'user', content: [{ type: 'text', text: 'hi there' }] }]).path).toBe('passthrough');
  });

  it('abstains on a short follow-up, whose meaning is in the conversation', () => {
    const verdict = local.classify([
      { role: 'user', content: 'Can you book the flights and the hotel we discussed?' },
      { role: 'assistant', content: 'I found two options. Shall I book the cheaper one?' },
      { role: 'user', content: 'yes please' },
    ]);
    expect(verdict).toEqual({ path: undefined, confidence: undefined, reason: 'a short follow-up: its meaning depends on the conversation' });
  });

  it('abstains without a user message', () => {
    expect(local.classify([{ role: 'system', content: 'be brief' }]).path).toBeUndefined();
  });
});

describe('createLocalRoutingClassifier', () => {
  it('falls through when the model is not confident, whatever the threshold', () => {
    const local = createLocalRoutingClassifier({ threshold: 0.5 + 1e-9, model: blankModel() });
    const verdict = local.classify(user('Compare three CRMs and recommend one'));
    expect(verdict.path).toBeUndefined();
    expect(verdict.confidence).toBe(0.5);
    expect(verdict.reason).toMatch(/^local model unsure/);
    // The rules still decide the obvious cases.
    expect(local.classify(user('good morning')).path).toBe('passthrough');
  });

  it('decides exactly when the confidence reaches the threshold', () => {
    // bias 2 gives p(orchestration) = 0.8808 for every text.
    const model = blankModel(2);
    const text = 'Tell me about Rome';
    const probability = orchestrationProbability(model, text);
    expect(probability).toBeCloseTo(0.8808, 4);
    expect(createLocalRoutingClassifier({ threshold: 0.88, model }).classify(user(text))).toMatchObject({ path: 'orchestration', confidence: probability });
    expect(createLocalRoutingClassifier({ threshold: 0.89, model }).classify(user(text))).toMatchObject({ path: undefined, confidence: probability });
    expect(createLocalRoutingClassifier({ threshold: 0.89, model: blankModel(-2) }).classify(user(text)).path).toBeUndefined();
    expect(createLocalRoutingClassifier({ threshold: 0.85, model: blankModel(-2) }).classify(user(text)).path).toBe('passthrough');
  });

  it('with threshold 1 only the rules decide', () => {
    const local = createLocalRoutingClassifier({ threshold: 1 });
    expect(local.classify(user('Deploy the latest build to production and notify the team on Slack.')).path).toBeUndefined();
    expect(local.classify(user('thanks!')).path).toBe('passthrough');
  });

  it('refuses a threshold outside 0.5..1 and a malformed model', () => {
    expect(() => createLocalRoutingClassifier({ threshold: 0.4 })).toThrow(RangeError);
    expect(() => createLocalRoutingClassifier({ threshold: Number.NaN })).toThrow(RangeError);
    expect(() => createLocalRoutingClassifier({ threshold: 0.9, model: { ...blankModel(), weights: [1, 2, 3] } })).toThrow(/one entry per bucket/);
  });
});

describe('obviousPassthrough', () => {
  it('matches whole greetings, thanks and arithmetic only', () => {
    expect(obviousPassthrough('  ')).toBe('empty request: nothing to orchestrate');
    for (const text of ['hi', 'Hello there!', 'thank you so much', 'Merci beaucoup', 'こんにちは', 'good night :)']) expect(obviousPassthrough(text), text).toMatch(/^small talk/);
    for (const text of ['2+2', '12 * 37 = ?', "what's 15 / 3?", '(1.5 + 2) ^ 2']) expect(obviousPassthrough(text), text).toMatch(/^arithmetic/);
    for (const text of ['hi, book me a flight to Rome', 'thanks, now email it to the team', '2024', 'Order 42 + shipping', 'What is 2+2 in base 3 and then in base 5?']) {
      expect(obviousPassthrough(text), text).toBeUndefined();
    }
  });
});

describe('features', () => {
  const spec = { buckets: 1024, headChars: 20, tailChars: 10 };

  it('read only the head and tail of a long text, so the cost is bounded', () => {
    const text = `Summarize this: ${'x'.repeat(10_000)} thanks`;
    const window = featureWindow(text, spec);
    expect(window).toBe(`${text.slice(0, 20)}\n…\n${text.slice(-10)}`);
    expect(featureWindow('short', spec)).toBe('short');
    expect(extractFeatures(text, spec)).toEqual(extractFeatures(`${text.slice(0, 20)}${'y'.repeat(50_000)}${text.slice(-10)}`, spec));
  });

  it('are deterministic, L2-normalised and within the buckets', () => {
    const features = extractFeatures('Research vendors, compare them, then recommend one.', spec);
    expect(extractFeatures('Research vendors, compare them, then recommend one.', spec)).toEqual(features);
    expect(features.indices.every((index) => index >= 0 && index < spec.buckets)).toBe(true);
    expect(Math.hypot(...features.values)).toBeCloseTo(1, 10);
    expect(features.structural).toHaveLength(STRUCTURAL_FEATURES.length);
  });
});
