export { bearerAuth, principalOf } from './auth.js';
export { NODE_STREAM_RESPONSE, createHttpApp, errorResponse, readJsonBody, writeNodeStreamHead } from './http-app.js';
export type { HttpAppOptions, ServiceEnv, ServiceVariables } from './http-app.js';
export { onShutdownSignal, serveHttp } from './serve.js';
export type { RunningServer, ServeOptions } from './serve.js';
export { SseDecoder } from './sse-decoder.js';
export type { SseEvent } from './sse-decoder.js';
export { claimNodeBody, createNodeFetch, sharedNodeFetch } from './node-fetch.js';
export type { FetchFunction, NodeFetch, NodeFetchOptions } from './node-fetch.js';
