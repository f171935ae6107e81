// The test harness moved to `@ensemble/workflow/testing/harness` with the runtime (issue 11). This
// re-export keeps `test/e2e/console.test.ts` (owned by the console branch) compiling until it imports the
// new path; delete it then.
export {
  emptyTranscript,
  finishedTasks,
  orchestratorClient,
  plan,
  planNode,
  quietLogger,
  record,
  startMockAgent,
  startOrchestrator,
  startScriptedPlanner,
} from '@ensemble/workflow/testing/harness';
export type { MockAgentSpec, OrchestratorClient, OrchestratorEnv, PlannerScript, ScriptedPlanner, TurnTranscript } from '@ensemble/workflow/testing/harness';
