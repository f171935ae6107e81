import { type PlanIssue, type PlanIssueCode, type PlanLimits, DEFAULT_PLAN_LIMITS, validatePlan } from '@ensemble/dag';
import { type createLlmClient, structuredCompletion } from '@ensemble/llm';
import {
  EXECUTION_PLAN_SCHEMA_NAME,
  EnsembleError,
  ErrorCode,
  ExecutionPlan,
  type PlanningConversationTurn,
  type PlanningResult,
  type ReplanRequest,
  type TokenCounts,
} from '@ensemble/protocol';
import { type Logger, chainSpanAttributes, inSpan } from '@ensemble/telemetry';
import { z } from 'zod';

import type { PlannerCatalog } from './catalog.js';
import { type PlannerMessage, buildPlanningMessages, correctionMessages } from './prompt.js';
import { diffPlans, frozenNodeIds, frozenNodeProblems } from './revision.js';

export type LlmClient = ReturnType<typeof createLlmClient>;

export interface PlannerSettings {
  model: string;
  temperature: number;
  /** LLM calls per plan, the first included (`PLANNER_MAX_ATTEMPTS`). */
  maxAttempts: number;
  limits?: Partial<PlanLimits>;
}

/** Reported before each LLM call; `problems` are those of the previous attempt (empty on the first). */
export interface PlanAttemptInfo {
  attempt: number;
  maxAttempts: number;
  problems: readonly string[];
}

export interface PlanWorkflowInput {
  request: string;
  catalog: PlannerCatalog;
  conversation?: readonly PlanningConversationTurn[] | undefined;
  replan?: ReplanRequest | undefined;
  signal?: AbortSignal;
  logger?: Logger;
  onAttempt?: (info: PlanAttemptInfo) => void;
  /** Told each LLM call's token usage (failed attempts included). */
  onUsage?: (usage: TokenCounts) => void;
}

/** Problems on a finished node that the model cannot fix: that agent already ran (it may be down now). */
const HISTORY_ISSUES: ReadonlySet<PlanIssueCode> = new Set(['unknown_agent', 'unknown_skill', 'agent_unavailable', 'invalid_fallback']);

/**
 * Plans (or re-plans) a request: asks the LLM for an `execution_plan` with structured output, validates
 * the answer against the catalog with `@ensemble/dag` (and, for a revision, checks that finished nodes
 * are untouched), and on problems asks again with every problem listed, up to `maxAttempts` calls.
 *
 * Throws `EnsembleError`:
 * - `unavailable` when the catalog has no agent to plan with;
 * - `upstream_error` (wire code `invalid_plan`, `details.attempts`) when no attempt gave a valid plan;
 * - whatever the LLM call failed with (unreachable, timeout, rate limit, cancelled): those are not the
 *   model's fault, so they are not re-asked (the `openai` SDK already retried transient ones).
 */
export async function planWorkflow(llm: LlmClient, settings: PlannerSettings, input: PlanWorkflowInput): Promise<PlanningResult> {
  if (input.catalog.agents.length === 0) {
    const down = input.catalog.validation.agents.filter((agent) => !agent.available).map((agent) => agent.name);
    throw new EnsembleError(
      ErrorCode.Unavailable,
      down.length === 0
        ? 'No agents are available to plan with: none is configured (AGENT_URLS) or none has answered with an agent card.'
        : `No agents are available to plan with: every known agent is unavailable (${down.join(', ')}).`,
      { wireCode: 'no_agents_available' },
    );
  }
  const limits = { ...DEFAULT_PLAN_LIMITS, ...settings.limits };
  const maxAttempts = Math.max(1, settings.maxAttempts);
  const messages: PlannerMessage[] = buildPlanningMessages({
    request: input.request,
    catalog: input.catalog.agents,
    conversation: input.conversation,
    replan: input.replan,
    maxNodes: limits.maxNodes,
  });
  const frozen = input.replan === undefined ? new Set<string>() : frozenNodeIds(input.replan);
  const history: { attempt: number; problems: string[] }[] = [];
  let problems: string[] = [];

  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    input.onAttempt?.({ attempt, maxAttempts, problems });
    const answer = await inSpan('planner.attempt', { attributes: { ...chainSpanAttributes(), 'planner.attempt': attempt, 'planner.replan': input.replan !== undefined } }, () =>
      askForPlan(llm, settings, messages, input.signal, input.onUsage),
    );
    if (answer.ok) {
      const validation = validatePlan(answer.plan, { catalog: input.catalog.validation, limits });
      const issues = validation.ok ? [] : validation.issues.filter((issue) => !(issue.node !== null && frozen.has(issue.node) && HISTORY_ISSUES.has(issue.code)));
      problems = issues.map(describeIssue);
      if (input.replan !== undefined) problems.push(...frozenNodeProblems(input.replan, answer.plan));
      if (problems.length === 0) {
        return { plan: answer.plan, revision: input.replan === undefined ? null : diffPlans(input.replan, answer.plan), attempts: attempt };
      }
    } else {
      problems = [answer.problem];
    }
    history.push({ attempt, problems });
    input.logger?.warn({ attempt, max_attempts: maxAttempts, problems }, 'planner produced an invalid plan');
    messages.push(...correctionMessages(answer.ok ? JSON.stringify(answer.plan) : undefined, problems, attempt));
  }

  throw new EnsembleError(
    ErrorCode.UpstreamError,
    `The planner could not produce a valid plan in ${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'}. Problems with the last plan:\n${problems.map((problem) => `- ${problem}`).join('\n')}`,
    { wireCode: 'invalid_plan', details: { attempts: history } },
  );
}

type Answer = { ok: true; plan: ExecutionPlan } | { ok: false; problem: string };

/**
 * One structured-output call. A reply that is not a plan at all (invalid JSON, fails the schema, a
 * refusal) is the model's mistake and becomes a problem to re-ask with; transport failures propagate.
 */
async function askForPlan(
  llm: LlmClient,
  settings: PlannerSettings,
  messages: readonly PlannerMessage[],
  signal: AbortSignal | undefined,
  onUsage: ((usage: TokenCounts) => void) | undefined,
): Promise<Answer> {
  try {
    const plan = await structuredCompletion(llm, {
      model: settings.model,
      messages: [...messages],
      schema: ExecutionPlan,
      schemaName: EXECUTION_PLAN_SCHEMA_NAME,
      temperature: settings.temperature,
      ...(signal === undefined ? {} : { signal }),
      spanName: 'llm.execution_plan',
      ...(onUsage === undefined ? {} : { onUsage }),
    });
    return { ok: true, plan };
  } catch (error) {
    if (isModelOutputError(error)) return { ok: false, problem: `the reply is not a valid execution_plan: ${outputErrorText(error)}` };
    throw error;
  }
}

/**
 * `structuredCompletion` reports a reply that does not parse as the schema as `upstream_error` whose
 * cause is the JSON or zod error (or no cause, for an empty reply or a refusal); transport failures carry
 * the SDK's API error as cause. Branches on the cause's type, never on message text.
 */
function isModelOutputError(error: unknown): error is EnsembleError {
  if (!EnsembleError.is(error, ErrorCode.UpstreamError)) return false;
  const cause: unknown = error.cause;
  return cause === undefined || cause instanceof z.ZodError || cause instanceof SyntaxError;
}

/** The schema problems, one per path, rather than zod's multi-line JSON dump. */
function outputErrorText(error: EnsembleError): string {
  const cause: unknown = error.cause;
  if (cause instanceof z.ZodError) {
    return cause.issues.map((issue) => `${issue.path.length === 0 ? 'plan' : issue.path.map(String).join('.')}: ${issue.message}`).join('; ');
  }
  if (cause instanceof SyntaxError) return `not JSON (${cause.message})`;
  return error.message;
}

function describeIssue(issue: PlanIssue): string {
  return `${issue.path === '' ? 'plan' : issue.path}: ${issue.message}`;
}
