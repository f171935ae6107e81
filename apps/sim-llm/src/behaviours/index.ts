import { executionPlan } from './execution-plan.js';
import { citedSynthesis, ragAnswer } from './rag-answer.js';
import { routingClassifier } from './routing-classifier.js';
import { toolUse } from './tool-use.js';
import { workflowSynthesis } from './workflow-synthesis.js';
import type { SimBehaviour } from './types.js';

export { fallbackBehaviours, plainAnswer } from './fallbacks.js';
export { classifiedText, classifyRouting, routingClassifier } from './routing-classifier.js';
export type { RoutingVerdict } from './routing-classifier.js';
export type { SimBehaviour } from './types.js';

/**
 * Default behaviours, tried in this order before the generic fallbacks (forced tool call, json_schema,
 * json_object, plain answer). To add one: a new file exporting a `SimBehaviour`, plus one line here.
 */
export const defaultBehaviours: readonly SimBehaviour[] = [
  routingClassifier,
  executionPlan,
  ragAnswer,
  citedSynthesis,
  workflowSynthesis,
  toolUse,
];
