export { bearerAuth, principalOf } from './auth.js';
export { createHttpApp, errorResponse, readJsonBody } from './http-app.js';
export type { HttpAppOptions, ServiceEnv, ServiceVariables } from './http-app.js';
export { onShutdownSignal, serveHttp } from './serve.js';
export type { RunningServer, ServeOptions } from './serve.js';
export { SseDecoder } from './sse-decoder.js';
export type { SseEvent } from './sse-decoder.js';
export { createNodeFetch, sharedNodeFetch } from './node-fetch.js';
export type { FetchFunction, NodeFetch } from './node-fetch.js';
