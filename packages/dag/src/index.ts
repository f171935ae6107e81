export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { describeCondition, evaluateCondition } from './condition.js';
export { APPROVAL_REJECTED, DEPENDENCY_FAILED, runDag } from './engine.js';
export type { DagRunOptions, DagRunResult, DagSnapshot, NodeFailurePolicy, NodeRunOutcome, NodeRunRequest, NodeRunner } from './engine.js';
export { referencedNodes, renderTemplate, templateVariables } from './template.js';
export type { TemplateContext, TemplateVariable } from './template.js';
export { DEFAULT_PLAN_LIMITS, assertValidPlan, formatPlanIssues, validatePlan } from './validate.js';
export type { AgentCatalog, CatalogAgent, PlanIssue, PlanIssueCode, PlanLimits, PlanValidation, ValidatePlanOptions } from './validate.js';
