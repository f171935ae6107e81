/**
 * Node input templates. Two variables exist: `{{request}}` (the user's request text) and
 * `{{nodes.<id>.output}}` (a finished upstream node's output). Whitespace inside the braces is allowed.
 * Rendering is a single pass: text substituted in is never expanded again, so an agent's output that
 * happens to contain `{{...}}` cannot inject references.
 */

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NODE_OUTPUT = /^nodes\.([a-z0-9][a-z0-9_-]{0,63})\.output$/;

export type TemplateVariable = { kind: 'request' } | { kind: 'node_output'; node: string } | { kind: 'unknown'; text: string };

/** Every placeholder in `template`, in order of appearance. */
export function templateVariables(template: string): TemplateVariable[] {
  const variables: TemplateVariable[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) variables.push(classify(match[1] ?? ''));
  return variables;
}

/** Ids of the nodes whose outputs `template` references (deduplicated, in order). */
export function referencedNodes(template: string): string[] {
  const ids = new Set<string>();
  for (const variable of templateVariables(template)) if (variable.kind === 'node_output') ids.add(variable.node);
  return [...ids];
}

export interface TemplateContext {
  request: string;
  /** Output of a node, or undefined when it has none (skipped, failed): rendered as an empty string. */
  output(node: string): string | undefined;
}

/** Substitutes every known placeholder; unknown ones are left as written (validation rejects them). */
export function renderTemplate(template: string, context: TemplateContext): string {
  return template.replace(PLACEHOLDER, (whole, expression: string) => {
    const variable = classify(expression);
    if (variable.kind === 'request') return context.request;
    if (variable.kind === 'node_output') return context.output(variable.node) ?? '';
    return whole;
  });
}

function classify(expression: string): TemplateVariable {
  const text = expression.trim();
  if (text === 'request') return { kind: 'request' };
  const node = NODE_OUTPUT.exec(text)?.[1];
  return node === undefined ? { kind: 'unknown', text } : { kind: 'node_output', node };
}
