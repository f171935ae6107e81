export { DEFAULT_CLAIM_LIMIT, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, alreadyDecided, approvalNotFound, pageOf } from './approval-store.js';
export type { ApprovalDecisionInput, ApprovalPage, ApprovalStore, ApprovalStoreOptions, ListApprovalsOptions, NewApproval } from './approval-store.js';
export { collectDecisions, toDecision } from './decisions.js';
export type { CollectedDecisions, PausedNode } from './decisions.js';
export { InMemoryApprovalStore } from './memory-store.js';
export { approvalDecidedMetadata, approvalRequiredMetadata, pauseDetails } from './pause.js';
export { decisionFromRequest } from './validate.js';
export type { PauseDetails } from './pause.js';
