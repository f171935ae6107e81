import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the closing line CI reads: `tests: N passed, M failed`. It counts test cases, not files, and
 * counts a file that failed outside its cases (a broken import, a failed `beforeAll`) as one failure, so
 * such a file is never reported green.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    for (const testModule of testModules) {
      let failedInModule = 0;
      for (const testCase of testModule.children.allTests()) {
        const state = testCase.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failedInModule += 1;
      }
      // A file that failed with no failed case: a broken import, or a `beforeAll` that threw (its cases
      // are then skipped, not failed).
      failed += testModule.state() === 'failed' && failedInModule === 0 ? 1 : failedInModule;
    }
    failed += unhandledErrors.length;
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed\n`);
  }
}
