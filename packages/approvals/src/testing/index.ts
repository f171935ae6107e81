export { describeApprovalStoreConformance, sampleApproval } from './conformance.js';
export type { ApprovalStoreHarness } from './conformance.js';
