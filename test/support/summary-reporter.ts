import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the closing line CI reads: `tests: N passed, M failed`. It counts test cases, not files, and
 * counts a file that failed to load (a suite-level error) as one failure so a broken import is never green.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    for (const testModule of testModules) {
      let casesInModule = 0;
      for (const testCase of testModule.children.allTests()) {
        casesInModule += 1;
        const state = testCase.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
      }
      if (casesInModule === 0 && testModule.state() === 'failed') failed += 1;
    }
    failed += unhandledErrors.length;
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed\n`);
  }
}
