import { EnsembleError, ErrorCode, ExecutionPlan, type PlanNode } from '@ensemble/protocol';

import { TEXT_OPERATORS } from './condition.js';
import { templateVariables } from './template.js';

/** The agents a plan may use, as discovered from their agent cards. */
export interface AgentCatalog {
  agents: readonly CatalogAgent[];
}

export interface CatalogAgent {
  name: string;
  /** Skill ids from the agent's card. */
  skills: readonly string[];
  /** False when the agent is known but not answering right now; plans must not rely on it. */
  available: boolean;
}

export interface PlanLimits {
  maxNodes: number;
  /** Most dependencies one node may have. */
  maxFanIn: number;
  /** Most nodes on one dependency chain (a plan of independent nodes has depth 1). */
  maxDepth: number;
  /** Longest input template, in characters. */
  maxInputLength: number;
}

export const DEFAULT_PLAN_LIMITS: Readonly<PlanLimits> = Object.freeze({ maxNodes: 50, maxFanIn: 10, maxDepth: 12, maxInputLength: 8_000 });

export type PlanIssueCode =
  | 'schema'
  | 'duplicate_id'
  | 'cycle'
  | 'dangling_dependency'
  | 'dangling_reference'
  | 'reference_not_dependency'
  | 'condition_not_dependency'
  | 'invalid_condition'
  | 'unknown_template_variable'
  | 'unreachable'
  | 'unknown_agent'
  | 'unknown_skill'
  | 'agent_unavailable'
  | 'invalid_fallback'
  | 'too_many_nodes'
  | 'too_many_dependencies'
  | 'too_deep'
  | 'input_too_long';

export interface PlanIssue {
  code: PlanIssueCode;
  /** Where in the plan, e.g. `nodes[2].dependsOn[0]`; `` for the plan as a whole. */
  path: string;
  /** The node the problem belongs to, when there is one. */
  node: string | null;
  message: string;
}

export type PlanValidation = { ok: true; plan: ExecutionPlan } | { ok: false; issues: PlanIssue[] };

export interface ValidatePlanOptions {
  /** When given, agents, skills and fallbacks are checked against it. */
  catalog?: AgentCatalog | undefined;
  limits?: Partial<PlanLimits> | undefined;
}

/**
 * Checks a plan and collects every problem (never stops at the first), so a planner can send them all
 * back to the LLM in one retry. Input that does not match the `ExecutionPlan` schema yields only
 * `schema` issues: graph checks need a well-formed plan.
 *
 * Graph rules: ids are unique; every `dependsOn` names a node; no cycles (each is named, `a -> b -> a`);
 * a node referenced by `{{nodes.<id>.output}}` or by `condition.node` must be a transitive dependency
 * (so its result exists when the node starts); a node that depends on a cycle or on a missing node can
 * never run and is reported `unreachable`.
 */
export function validatePlan(input: unknown, options: ValidatePlanOptions = {}): PlanValidation {
  const parsed = ExecutionPlan.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((issue) => ({ code: 'schema', path: formatPath(issue.path), node: null, message: issue.message })),
    };
  }
  const plan = parsed.data;
  const limits = { ...DEFAULT_PLAN_LIMITS, ...options.limits };
  const issues: PlanIssue[] = [];
  const byId = new Map<string, PlanNode>();
  const indexOf = new Map<string, number>();

  if (plan.nodes.length > limits.maxNodes) {
    issues.push({ code: 'too_many_nodes', path: 'nodes', node: null, message: `The plan has ${plan.nodes.length} nodes; at most ${limits.maxNodes} are allowed` });
  }
  plan.nodes.forEach((node, index) => {
    if (byId.has(node.id)) {
      issues.push({ code: 'duplicate_id', path: `nodes[${index}].id`, node: node.id, message: `Node id "${node.id}" is used by nodes[${indexOf.get(node.id) ?? 0}] and nodes[${index}]` });
      return;
    }
    byId.set(node.id, node);
    indexOf.set(node.id, index);
  });

  const ancestorsOf = ancestorFinder(byId);
  plan.nodes.forEach((node, index) => {
    const at = `nodes[${index}]`;
    const dependencies = new Set(node.dependsOn);
    node.dependsOn.forEach((dependency, position) => {
      if (!byId.has(dependency)) {
        issues.push({ code: 'dangling_dependency', path: `${at}.dependsOn[${position}]`, node: node.id, message: `Node "${node.id}" depends on "${dependency}", which is not in the plan` });
      }
    });
    if (dependencies.size > limits.maxFanIn) {
      issues.push({ code: 'too_many_dependencies', path: `${at}.dependsOn`, node: node.id, message: `Node "${node.id}" has ${dependencies.size} dependencies; at most ${limits.maxFanIn} are allowed` });
    }
    if (node.input.length > limits.maxInputLength) {
      issues.push({ code: 'input_too_long', path: `${at}.input`, node: node.id, message: `Node "${node.id}" input is ${node.input.length} characters; at most ${limits.maxInputLength} are allowed` });
    }

    const ancestors = ancestorsOf(node.id);
    for (const variable of templateVariables(node.input)) {
      if (variable.kind === 'unknown') {
        issues.push({ code: 'unknown_template_variable', path: `${at}.input`, node: node.id, message: `Node "${node.id}" input uses {{${variable.text}}}; only {{request}} and {{nodes.<id>.output}} exist` });
      } else if (variable.kind === 'node_output') {
        if (!byId.has(variable.node)) {
          issues.push({ code: 'dangling_reference', path: `${at}.input`, node: node.id, message: `Node "${node.id}" input references {{nodes.${variable.node}.output}}, but there is no node "${variable.node}"` });
        } else if (!ancestors.has(variable.node)) {
          issues.push({ code: 'reference_not_dependency', path: `${at}.input`, node: node.id, message: `Node "${node.id}" input references the output of "${variable.node}", which is not one of its dependencies: add "${variable.node}" to dependsOn` });
        }
      }
    }

    const condition = node.condition;
    if (condition !== null) {
      if (!byId.has(condition.node)) {
        issues.push({ code: 'dangling_reference', path: `${at}.condition.node`, node: node.id, message: `Node "${node.id}" has a condition on "${condition.node}", which is not in the plan` });
      } else if (!ancestors.has(condition.node)) {
        issues.push({ code: 'condition_not_dependency', path: `${at}.condition.node`, node: node.id, message: `Node "${node.id}" has a condition on "${condition.node}", which is not one of its dependencies: add "${condition.node}" to dependsOn` });
      }
      if (TEXT_OPERATORS.has(condition.operator) && condition.value === null) {
        issues.push({ code: 'invalid_condition', path: `${at}.condition.value`, node: node.id, message: `Node "${node.id}" condition "${condition.operator}" needs a value` });
      }
      if (condition.operator === 'matches' && condition.value !== null) {
        const problem = regexProblem(condition.value);
        if (problem !== null) issues.push({ code: 'invalid_condition', path: `${at}.condition.value`, node: node.id, message: `Node "${node.id}" condition pattern is not a valid regular expression: ${problem}` });
      }
    }

    if (options.catalog !== undefined) issues.push(...catalogIssues(node, at, options.catalog));
  });

  const cycles = findCycles(byId);
  const inCycle = new Set<string>();
  for (const cycle of cycles) {
    cycle.forEach((id) => inCycle.add(id));
    const first = cycle[0] ?? '';
    issues.push({ code: 'cycle', path: `nodes[${indexOf.get(first) ?? 0}].dependsOn`, node: first, message: `Dependency cycle: ${[...cycle, first].join(' -> ')}` });
  }

  // A node that waits on a cycle or on a node that does not exist can never start.
  const blocked = new Set<string>([...inCycle]);
  for (const node of byId.values()) if (node.dependsOn.some((dependency) => !byId.has(dependency))) blocked.add(node.id);
  for (const node of byId.values()) {
    if (blocked.has(node.id)) continue;
    const blocker = [...ancestorsOf(node.id)].find((ancestor) => blocked.has(ancestor));
    if (blocker !== undefined) {
      issues.push({ code: 'unreachable', path: `nodes[${indexOf.get(node.id) ?? 0}]`, node: node.id, message: `Node "${node.id}" can never run: it depends on "${blocker}", which is in a cycle or waits for a missing node` });
    }
  }

  if (cycles.length === 0) {
    const depth = planDepth(plan.nodes, byId);
    if (depth > limits.maxDepth) {
      issues.push({ code: 'too_deep', path: 'nodes', node: null, message: `The longest dependency chain has ${depth} nodes; at most ${limits.maxDepth} are allowed` });
    }
  }

  return issues.length === 0 ? { ok: true, plan } : { ok: false, issues };
}

/** Throws `invalid_request` (400) listing every issue, with the issues in `details.issues`. */
export function assertValidPlan(input: unknown, options: ValidatePlanOptions = {}): ExecutionPlan {
  const result = validatePlan(input, options);
  if (result.ok) return result.plan;
  throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid execution plan: ${formatPlanIssues(result.issues)}`, {
    details: { issues: result.issues },
    wireCode: 'invalid_plan',
  });
}

/** One line per issue, ready to be shown to a planner LLM asked to fix its plan. */
export function formatPlanIssues(issues: readonly PlanIssue[]): string {
  return issues.map((issue) => `- ${issue.path === '' ? 'plan' : issue.path}: ${issue.message}`).join('\n');
}

function catalogIssues(node: PlanNode, at: string, catalog: AgentCatalog): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const agents = new Map(catalog.agents.map((agent) => [agent.name, agent]));
  const known = [...agents.keys()].join(', ') || 'none';
  const checkAgent = (name: string, path: string, role: string): void => {
    const agent = agents.get(name);
    if (agent === undefined) {
      issues.push({ code: 'unknown_agent', path, node: node.id, message: `Node "${node.id}" ${role} "${name}" is not a known agent (known: ${known})` });
      return;
    }
    if (!agent.available) issues.push({ code: 'agent_unavailable', path, node: node.id, message: `Node "${node.id}" ${role} "${name}" is currently unavailable` });
    if (node.skill !== null && !agent.skills.includes(node.skill)) {
      issues.push({ code: 'unknown_skill', path, node: node.id, message: `Node "${node.id}" needs skill "${node.skill}", which ${role} "${name}" does not offer (it offers: ${agent.skills.join(', ') || 'none'})` });
    }
  };

  if (node.agent !== null) {
    checkAgent(node.agent, `${at}.agent`, 'agent');
  } else if (node.skill !== null) {
    const offering = catalog.agents.filter((agent) => agent.skills.includes(node.skill ?? ''));
    if (offering.length === 0) {
      issues.push({ code: 'unknown_skill', path: `${at}.skill`, node: node.id, message: `Node "${node.id}" needs skill "${node.skill}", which no known agent offers` });
    } else if (!offering.some((agent) => agent.available)) {
      issues.push({ code: 'agent_unavailable', path: `${at}.skill`, node: node.id, message: `Node "${node.id}" needs skill "${node.skill}", but every agent offering it is unavailable (${offering.map((agent) => agent.name).join(', ')})` });
    }
  }
  if (node.fallbackAgent !== null) {
    if (node.fallbackAgent === node.agent) {
      issues.push({ code: 'invalid_fallback', path: `${at}.fallbackAgent`, node: node.id, message: `Node "${node.id}" falls back to its own agent "${node.agent}"; use retry.maxAttempts instead` });
    } else {
      checkAgent(node.fallbackAgent, `${at}.fallbackAgent`, 'fallback agent');
    }
  }
  return issues;
}

/** Memoised transitive dependencies; tolerant of cycles and missing nodes. */
function ancestorFinder(byId: ReadonlyMap<string, PlanNode>): (id: string) => Set<string> {
  const cache = new Map<string, Set<string>>();
  return (id) => {
    const cached = cache.get(id);
    if (cached !== undefined) return cached;
    const seen = new Set<string>();
    const stack = [...(byId.get(id)?.dependsOn ?? [])];
    while (stack.length > 0) {
      const next = stack.pop() ?? '';
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(byId.get(next)?.dependsOn ?? []));
    }
    cache.set(id, seen);
    return seen;
  };
}

/**
 * Every cycle, one per strongly connected component (Tarjan), each named by an actual path through it in
 * dependency order (`a` depends on `b` ... depends on `a`).
 */
function findCycles(byId: ReadonlyMap<string, PlanNode>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];

  const connect = (id: string): void => {
    index.set(id, counter);
    low.set(id, counter);
    counter += 1;
    stack.push(id);
    onStack.add(id);
    for (const dependency of byId.get(id)?.dependsOn ?? []) {
      if (!byId.has(dependency)) continue;
      if (!index.has(dependency)) {
        connect(dependency);
        low.set(id, Math.min(low.get(id) ?? 0, low.get(dependency) ?? 0));
      } else if (onStack.has(dependency)) {
        low.set(id, Math.min(low.get(id) ?? 0, index.get(dependency) ?? 0));
      }
    }
    if (low.get(id) === index.get(id)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== id);
      const selfLoop = component.length === 1 && (byId.get(id)?.dependsOn.includes(id) ?? false);
      if (component.length > 1 || selfLoop) components.push(component);
    }
  };
  for (const id of byId.keys()) if (!index.has(id)) connect(id);

  return components.map((component) => cyclePath(component, byId));
}

/** A closed path inside one strongly connected component, starting from its first node in plan order. */
function cyclePath(component: readonly string[], byId: ReadonlyMap<string, PlanNode>): string[] {
  const members = new Set(component);
  const start = [...byId.keys()].find((id) => members.has(id)) ?? component[0] ?? '';
  // Breadth-first from start's dependencies back to start gives the shortest cycle through it.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const current = queue.shift() ?? '';
    for (const dependency of byId.get(current)?.dependsOn ?? []) {
      if (!members.has(dependency)) continue;
      if (dependency === start) {
        const path = [current];
        while (path[0] !== start) path.unshift(previous.get(path[0] ?? '') ?? start);
        return path;
      }
      if (!previous.has(dependency)) {
        previous.set(dependency, current);
        queue.push(dependency);
      }
    }
  }
  return [start];
}

/** Nodes on the longest dependency chain; only called on acyclic plans. */
function planDepth(nodes: readonly PlanNode[], byId: ReadonlyMap<string, PlanNode>): number {
  const depth = new Map<string, number>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const dependencies = (byId.get(id)?.dependsOn ?? []).filter((dependency) => byId.has(dependency));
    const value = 1 + Math.max(0, ...dependencies.map(depthOf));
    depth.set(id, value);
    return value;
  };
  return Math.max(0, ...nodes.map((node) => depthOf(node.id)));
}

function regexProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, 'i');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : 'invalid pattern';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}
