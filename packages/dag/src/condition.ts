import type { NodeCondition, NodeResult } from '@ensemble/protocol';

/** Text operators look at most at this much output, bounding the cost of a `matches` pattern. */
const MAX_TESTED_OUTPUT = 100_000;

export const TEXT_OPERATORS: ReadonlySet<NodeCondition['operator']> = new Set(['contains', 'not_contains', 'equals', 'not_equals', 'matches']);

/**
 * Evaluates a condition against the result of the node it names.
 * - `succeeded` / `failed`: that node's status is `completed` / `failed`.
 * - Text operators compare its output, case-insensitively; `equals` compares trimmed text; `matches` is a
 *   JavaScript regular expression (flag `i`). They are false when the node did not complete: a condition
 *   on a node that did not run never holds, whichever operator it uses.
 */
export function evaluateCondition(condition: NodeCondition, result: NodeResult | undefined): boolean {
  const status = result?.status;
  if (condition.operator === 'succeeded') return status === 'completed';
  if (condition.operator === 'failed') return status === 'failed';
  if (status !== 'completed') return false;
  const output = (result?.output ?? '').slice(0, MAX_TESTED_OUTPUT);
  const value = condition.value ?? '';
  switch (condition.operator) {
    case 'contains':
      return output.toLowerCase().includes(value.toLowerCase());
    case 'not_contains':
      return !output.toLowerCase().includes(value.toLowerCase());
    case 'equals':
      return output.trim().toLowerCase() === value.trim().toLowerCase();
    case 'not_equals':
      return output.trim().toLowerCase() !== value.trim().toLowerCase();
    case 'matches':
      return new RegExp(value, 'i').test(output);
  }
}

/** Human-readable form for events and skip reasons, e.g. `search contains "weather"`. */
export function describeCondition(condition: NodeCondition): string {
  if (condition.operator === 'succeeded' || condition.operator === 'failed') return `${condition.node} ${condition.operator}`;
  return `${condition.node} ${condition.operator} ${JSON.stringify(condition.value ?? '')}`;
}
