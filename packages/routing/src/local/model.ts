import { z } from 'zod';

import { type FeatureVector, STRUCTURAL_FEATURES, extractFeatures } from './features.js';

/**
 * The local routing model as it is stored (`local-model.json`, written by `npm run train:routing`):
 * a logistic regression over hashed text features, predicting the probability that a request needs
 * orchestration. Training metadata rides along so a stale model can be detected.
 */
export const LocalRoutingModel = z
  .object({
    format: z.literal('ensemble.routing.local/v1'),
    features: z.object({
      buckets: z.number().int().min(2).refine((value) => (value & (value - 1)) === 0, 'must be a power of two'),
      headChars: z.number().int().min(1),
      tailChars: z.number().int().min(0),
    }),
    bias: z.number(),
    weights: z.array(z.number()),
    structuralFeatures: z.array(z.string()),
    structuralWeights: z.array(z.number()),
    training: z.object({
      /** SHA-256 of the training examples (id, label, text), to detect a model older than its data. */
      dataSha256: z.string(),
      examples: z.number().int(),
      seed: z.number().int(),
      epochs: z.number().int(),
      l2: z.number(),
    }),
  })
  .refine((model) => model.weights.length === model.features.buckets, { message: 'weights must have one entry per bucket' })
  .refine((model) => model.structuralFeatures.join() === STRUCTURAL_FEATURES.join() && model.structuralWeights.length === STRUCTURAL_FEATURES.length, {
    message: `structural features must be ${STRUCTURAL_FEATURES.join(', ')}`,
  });
export type LocalRoutingModel = z.infer<typeof LocalRoutingModel>;

/** Probability that `text` (one user request) needs orchestration. */
export function orchestrationProbability(model: LocalRoutingModel, text: string): number {
  return scoreToProbability(score(model.bias, model.weights, model.structuralWeights, extractFeatures(text, model.features)));
}

export function score(bias: number, weights: ArrayLike<number>, structuralWeights: ArrayLike<number>, features: FeatureVector): number {
  let total = bias;
  for (let index = 0; index < features.indices.length; index += 1) total += (weights[features.indices[index]!] ?? 0) * features.values[index]!;
  for (let index = 0; index < features.structural.length; index += 1) total += (structuralWeights[index] ?? 0) * features.structural[index]!;
  return total;
}

export function scoreToProbability(value: number): number {
  return 1 / (1 + Math.exp(-value));
}
