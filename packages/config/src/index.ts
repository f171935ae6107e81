export { env, loadConfig } from './load-config.js';
export type { Env } from './load-config.js';
