export { describeSessionStoreConformance, samplePlan, sampleRequest, sampleResult } from './conformance.js';
export type { SessionStoreHarness } from './conformance.js';
