export { describeEventLogConformance } from './conformance.js';
export type { EventLogHarness, SampleEvent } from './conformance.js';
