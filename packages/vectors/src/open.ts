export { VectorStoreSettings, openVectorStore } from './open-store.js';
export type { OpenVectorStoreOptions, OpenedVectorStore } from './open-store.js';
