/**
 * `npm run train:routing`: trains the local routing model on the train split of
 * `data/routing/prompts.jsonl` and writes `packages/routing/src/local/local-model.json`. Deterministic:
 * the same data and options give the same file, byte for byte (a test checks the shipped one). Prints a
 * 5-fold cross-validation on the train split, per threshold, to choose `ROUTING_LOCAL_THRESHOLD` without
 * looking at the held-out split (that one is `npm run bench:routing`'s).
 *
 * `--check` writes nothing and exits 1 when the shipped model is not what training gives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import {
  DEFAULT_TRAINING_OPTIONS,
  crossValidatedProbabilities,
  formatLocalRoutingModel,
  parseRoutingExamples,
  trainLocalRoutingModel,
} from '@ensemble/routing';

const DATA = fileURLToPath(new URL('../data/routing/prompts.jsonl', import.meta.url));
const MODEL = fileURLToPath(new URL('../packages/routing/src/local/local-model.json', import.meta.url));

const examples = parseRoutingExamples(readFileSync(DATA, 'utf8'));
const train = examples.filter((example) => example.split === 'train');
const started = performance.now();
const model = trainLocalRoutingModel(train, DEFAULT_TRAINING_OPTIONS);
const text = formatLocalRoutingModel(model);
console.log(`trained on ${train.length} prompts (${examples.length - train.length} held out) in ${(performance.now() - started).toFixed(0)} ms; ${text.length} bytes`);

if (process.argv.includes('--check')) {
  const shipped = readFileSync(MODEL, 'utf8');
  if (shipped !== text) {
    console.error(`${MODEL} is not what training on the current data gives: run npm run train:routing`);
    process.exit(1);
  }
  console.log('the shipped model is up to date');
} else {
  writeFileSync(MODEL, text);
  console.log(`wrote ${MODEL}`);
}

const probabilities = crossValidatedProbabilities(train, 5, DEFAULT_TRAINING_OPTIONS);
console.log('\n5-fold cross-validation on the train split (decided = confidence >= threshold):');
console.log('threshold  decided  accuracy  precision(orch)  recall(orch)');
for (const threshold of [0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]) {
  let decided = 0;
  let correct = 0;
  let truePositive = 0;
  let falsePositive = 0;
  let falseNegative = 0;
  train.forEach((example, index) => {
    const probability = probabilities[index]!;
    if (Math.max(probability, 1 - probability) < threshold) return;
    decided += 1;
    const predicted = probability >= 0.5;
    const actual = example.label === 'orchestration';
    if (predicted === actual) correct += 1;
    if (predicted && actual) truePositive += 1;
    if (predicted && !actual) falsePositive += 1;
    if (!predicted && actual) falseNegative += 1;
  });
  const ratio = (part: number, whole: number) => (whole === 0 ? '-' : (part / whole).toFixed(3));
  console.log(
    `${threshold.toFixed(2).padStart(9)}  ${ratio(decided, train.length).padStart(7)}  ${ratio(correct, decided).padStart(8)}  ${ratio(truePositive, truePositive + falsePositive).padStart(15)}  ${ratio(truePositive, truePositive + falseNegative).padStart(12)}`,
  );
}
