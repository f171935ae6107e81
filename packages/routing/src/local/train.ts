import { createHash } from 'node:crypto';

import { RoutingPath } from '@ensemble/protocol';
import { z } from 'zod';

import { type FeatureSpec, type FeatureVector, STRUCTURAL_FEATURES, extractFeatures } from './features.js';
import { type LocalRoutingModel, score, scoreToProbability } from './model.js';

/** One labelled prompt of the routing data set (`data/routing/prompts.jsonl`, one JSON object a line). */
export const RoutingExample = z.object({
  id: z.string().min(1),
  label: RoutingPath,
  /** What sort of prompt it is (question, translation, research, approval, ...), for reports. */
  kind: z.string().min(1),
  lang: z.string().min(2),
  split: z.enum(['train', 'test']),
  text: z.string().min(1),
});
export type RoutingExample = z.infer<typeof RoutingExample>;

/** Parses the JSON-lines data set; throws naming the first bad line. Ids must be unique. */
export function parseRoutingExamples(jsonl: string): RoutingExample[] {
  const examples: RoutingExample[] = [];
  const ids = new Set<string>();
  jsonl.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let parsed: RoutingExample;
    try {
      parsed = RoutingExample.parse(JSON.parse(line));
    } catch (error) {
      throw new Error(`routing data set line ${index + 1}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (ids.has(parsed.id)) throw new Error(`routing data set line ${index + 1}: duplicate id ${parsed.id}`);
    ids.add(parsed.id);
    examples.push(parsed);
  });
  return examples;
}

export interface TrainingOptions {
  features: FeatureSpec;
  /** Seed of the example order; the same data, options and seed give the same model, bit for bit. */
  seed: number;
  epochs: number;
  /** L2 penalty per example (weight decay). */
  l2: number;
  /** Initial step size, decaying as 1 / (1 + epoch). */
  learningRate: number;
}

export const DEFAULT_TRAINING_OPTIONS: TrainingOptions = {
  features: { buckets: 4096, headChars: 480, tailChars: 240 },
  seed: 15,
  epochs: 40,
  l2: 1e-4,
  learningRate: 0.5,
};

/** Digits kept per stored weight: enough for the model's decisions, small enough to keep the file small. */
const STORED_DIGITS = 4;

/**
 * Trains the local routing model (logistic regression, stochastic gradient descent over a seeded
 * shuffle) on `examples`, all of which are used: pass only the training split. Deterministic.
 */
export function trainLocalRoutingModel(examples: readonly RoutingExample[], options: TrainingOptions = DEFAULT_TRAINING_OPTIONS): LocalRoutingModel {
  const { bias, weights, structuralWeights } = fit(
    examples.map((example) => ({ features: extractFeatures(example.text, options.features), target: example.label === 'orchestration' ? 1 : 0 })),
    options,
  );
  return {
    format: 'ensemble.routing.local/v1',
    features: { ...options.features },
    bias: round(bias),
    weights: Array.from(weights, round),
    structuralFeatures: [...STRUCTURAL_FEATURES],
    structuralWeights: Array.from(structuralWeights, round),
    training: { dataSha256: examplesDigest(examples), examples: examples.length, seed: options.seed, epochs: options.epochs, l2: options.l2 },
  };
}

/**
 * The model as stored in `local-model.json`: indented, with each array of numbers on one line, so the
 * file stays small and a retrained model shows as a short diff of its metadata plus one weights line.
 */
export function formatLocalRoutingModel(model: LocalRoutingModel): string {
  const inline = new Map<string, string>();
  const text = JSON.stringify(
    model,
    (_key, value: unknown) => {
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'number')) return value;
      const token = `@@numbers${inline.size}@@`;
      inline.set(token, JSON.stringify(value));
      return token;
    },
    2,
  );
  return `${text.replace(/"(@@numbers\d+@@)"/g, (_match, token: string) => inline.get(token) ?? '[]')}\n`;
}

/** SHA-256 over the examples' ids, labels and texts, in order. */
export function examplesDigest(examples: readonly RoutingExample[]): string {
  const hash = createHash('sha256');
  for (const example of examples) hash.update(`${example.id}\t${example.label}\t${example.text}\n`);
  return hash.digest('hex');
}

/**
 * Out-of-fold probabilities by k-fold cross-validation on `examples` (folds by position after a seeded
 * shuffle): what the training script uses to choose a threshold without touching the held-out split.
 */
export function crossValidatedProbabilities(examples: readonly RoutingExample[], folds: number, options: TrainingOptions = DEFAULT_TRAINING_OPTIONS): number[] {
  const encoded = examples.map((example) => ({ features: extractFeatures(example.text, options.features), target: example.label === 'orchestration' ? 1 : 0 }));
  const order = shuffled(encoded.length, createRandom(options.seed ^ 0x9e3779b9));
  const probabilities = new Array<number>(examples.length).fill(0);
  for (let fold = 0; fold < folds; fold += 1) {
    const held = new Set(order.filter((_, position) => position % folds === fold));
    const model = fit(
      encoded.filter((_, index) => !held.has(index)),
      options,
    );
    for (const index of held) probabilities[index] = scoreToProbability(score(model.bias, model.weights, model.structuralWeights, encoded[index]!.features));
  }
  return probabilities;
}

interface Encoded {
  features: FeatureVector;
  target: number;
}

function fit(data: readonly Encoded[], options: TrainingOptions): { bias: number; weights: Float64Array; structuralWeights: Float64Array } {
  const weights = new Float64Array(options.features.buckets);
  const structuralWeights = new Float64Array(STRUCTURAL_FEATURES.length);
  let bias = 0;
  const random = createRandom(options.seed);
  for (let epoch = 0; epoch < options.epochs; epoch += 1) {
    const rate = options.learningRate / (1 + epoch);
    for (const index of shuffled(data.length, random)) {
      const { features, target } = data[index]!;
      const gradient = scoreToProbability(score(bias, weights, structuralWeights, features)) - target;
      // Lazy L2: decay only the weights this example touches (the usual sparse-SGD shortcut).
      for (let position = 0; position < features.indices.length; position += 1) {
        const bucket = features.indices[position]!;
        weights[bucket] = weights[bucket]! - rate * (gradient * features.values[position]! + options.l2 * weights[bucket]!);
      }
      for (let position = 0; position < features.structural.length; position += 1) {
        structuralWeights[position] = structuralWeights[position]! - rate * (gradient * features.structural[position]! + options.l2 * structuralWeights[position]!);
      }
      bias -= rate * gradient;
    }
  }
  return { bias, weights, structuralWeights };
}

function round(value: number): number {
  const rounded = Number(value.toFixed(STORED_DIGITS));
  return Object.is(rounded, -0) ? 0 : rounded;
}

/** mulberry32: a small, fast, seedable PRNG (the same sequence on every machine). */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Fisher-Yates shuffle of 0..length-1. */
function shuffled(length: number, random: () => number): number[] {
  const order = Array.from({ length }, (_, index) => index);
  for (let index = length - 1; index > 0; index -= 1) {
    const swap = Math.floor(random() * (index + 1));
    [order[index], order[swap]] = [order[swap]!, order[index]!];
  }
  return order;
}
