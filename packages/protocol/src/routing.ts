import { z } from 'zod';

import { TokenUsage } from './token-usage.js';

/** Where a chat request goes: straight to the LLM, or through the orchestrator. */
export const RoutingPath = z.enum(['passthrough', 'orchestration']);
export type RoutingPath = z.infer<typeof RoutingPath>;

/**
 * What made the decision: a fixed rule, an explicit header, the local first-stage classifier (rules and a
 * small model, no model call), the LLM classifier, or the fallback.
 */
export const RoutingSource = z.enum(['rule', 'header', 'local', 'classifier', 'fallback']);
export type RoutingSource = z.infer<typeof RoutingSource>;

export const RoutingDecision = z.object({
  path: RoutingPath,
  reason: z.string(),
  source: RoutingSource,
  /** True when the classifier result came from the cache rather than a fresh LLM call. */
  cached: z.boolean().optional(),
  /** How sure the local classifier was of this path (0.5 to 1), when it decided. */
  confidence: z.number().min(0).max(1).optional(),
  /** Tokens the classifier's LLM call spent for this request (absent for rules, headers and cache hits). */
  usage: TokenUsage.optional(),
});
export type RoutingDecision = z.infer<typeof RoutingDecision>;

/** The classifier's structured output, as the LLM must return it. */
export const ClassifierVerdict = z.object({
  needs_orchestration: z.boolean(),
  reason: z.string(),
});
export type ClassifierVerdict = z.infer<typeof ClassifierVerdict>;

/** `X-Routing-Mode` header values. */
export const RoutingMode = z.enum(['passthrough', 'orchestration', 'auto']);
export type RoutingMode = z.infer<typeof RoutingMode>;
