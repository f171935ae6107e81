import { VectorStoreSettings } from '@ensemble/vectors/open';

/** Every variable the CLI reads: the vector store's settings (the README's configuration table lists them). */
export const CliConfig = VectorStoreSettings;
export type CliConfig = VectorStoreSettings;
