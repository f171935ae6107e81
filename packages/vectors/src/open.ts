export { VectorStoreSettings, openVectorStore } from './open-store.js';
export type { OpenedVectorStore } from './open-store.js';
