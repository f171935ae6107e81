import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { createLocalRoutingClassifier, defaultLocalRoutingModel } from './local-classifier.js';
import { DEFAULT_TRAINING_OPTIONS, examplesDigest, formatLocalRoutingModel, parseRoutingExamples, trainLocalRoutingModel } from './train.js';

const DATA = new URL('../../../../data/routing/prompts.jsonl', import.meta.url);
const SHIPPED = new URL('./local-model.json', import.meta.url);

const examples = parseRoutingExamples(readFileSync(DATA, 'utf8'));
const train = examples.filter((example) => example.split === 'train');
const heldOut = examples.filter((example) => example.split === 'test');

describe('the routing data set', () => {
  it('has at least 400 distinct labelled prompts of both kinds, with a held-out split of about a quarter', () => {
    expect(examples.length).toBeGreaterThanOrEqual(400);
    expect(new Set(examples.map((example) => example.text)).size).toBe(examples.length);
    for (const split of [train, heldOut]) {
      expect(split.filter((example) => example.label === 'orchestration').length).toBeGreaterThan(split.length * 0.3);
      expect(split.filter((example) => example.label === 'passthrough').length).toBeGreaterThan(split.length * 0.3);
    }
    expect(heldOut.length / examples.length).toBeGreaterThan(0.2);
    expect(heldOut.length / examples.length).toBeLessThan(0.35);
    expect(new Set(examples.map((example) => example.lang)).size).toBeGreaterThanOrEqual(5);
  });

  it('names the bad line of a malformed file', () => {
    expect(() => parseRoutingExamples('{"id":"a","label":"passthrough","kind":"q","lang":"en","split":"train","text":"hi"}\n{"id":"b","label":"maybe"}')).toThrow(/line 2/);
    const line = '{"id":"a","label":"passthrough","kind":"q","lang":"en","split":"train","text":"hi"}';
    expect(() => parseRoutingExamples(`${line}\n${line}`)).toThrow(/duplicate id a/);
  });
});

describe('trainLocalRoutingModel', () => {
  it('reproduces the shipped model byte for byte from the train split (run `npm run train:routing` after changing the data)', () => {
    const shipped = readFileSync(SHIPPED, 'utf8');
    expect(defaultLocalRoutingModel().training.dataSha256, 'the shipped model was trained on other data').toBe(examplesDigest(train));
    expect(formatLocalRoutingModel(trainLocalRoutingModel(train, DEFAULT_TRAINING_OPTIONS))).toBe(shipped);
  });

  it('is deterministic for a seed and depends on it', () => {
    const small = train.slice(0, 120);
    const options = { ...DEFAULT_TRAINING_OPTIONS, epochs: 5 };
    expect(trainLocalRoutingModel(small, options)).toEqual(trainLocalRoutingModel(small, options));
    expect(trainLocalRoutingModel(small, { ...options, seed: 7 }).weights).not.toEqual(trainLocalRoutingModel(small, options).weights);
  });

  it('keeps its held-out quality above a floor at the default threshold', () => {
    const local = createLocalRoutingClassifier({ threshold: 0.9 });
    let decided = 0;
    let correct = 0;
    let orchestrationPredicted = 0;
    let orchestrationRight = 0;
    for (const example of heldOut) {
      const verdict = local.classify([{ role: 'user', content: example.text }]);
      if (verdict.path === undefined) continue;
      decided += 1;
      if (verdict.path === example.label) correct += 1;
      if (verdict.path === 'orchestration') {
        orchestrationPredicted += 1;
        if (example.label === 'orchestration') orchestrationRight += 1;
      }
    }
    // Measured: about 70 % decided, accuracy 0.99 (bench:routing prints the numbers).
    expect(decided / heldOut.length).toBeGreaterThan(0.5);
    expect(correct / decided).toBeGreaterThan(0.95);
    expect(orchestrationRight / orchestrationPredicted).toBeGreaterThan(0.92);
  });
});
