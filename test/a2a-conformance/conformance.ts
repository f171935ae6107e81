import { beforeAll, describe, expect, it } from 'vitest';

import {
  type CallOptions,
  ISO_UTC,
  type JsonObject,
  type RpcResponse,
  V03_TERMINAL_STATES,
  V1_INTERRUPTED_STATES,
  V1_STATES,
  V1_TERMINAL_STATES,
  arrayAt,
  errorInfoReasons,
  errorOf,
  headersFor,
  isObject,
  objectAt,
  postDeclaringLength,
  readSse,
  request,
  resultOf,
  rpc,
  rpcStream,
  stringAt,
  v03Message,
  v1Message,
} from './support/wire.js';

/**
 * A2A conformance, checked from outside over raw HTTP, modelled on the A2A TCK (`a2aproject/a2a-tck`):
 * its v0.3 mandatory JSON-RPC and Agent Card tests (`tests/mandatory/**`, v0.3 method names, no
 * `A2A-Version` header) and its v1.0 requirements (`tck/requirements/*.py`: CORE-*, CARD-*, STREAM-*,
 * VER-*, HTTP_JSON-*; v1.0 method names with `A2A-Version: 1.0`). Test names carry the requirement ids.
 * One call per agent file: `describeA2AConformance(() => target)`.
 */

export interface ConformanceTarget {
  /** The base URL the agent was started at (its card is at `/.well-known/agent-card.json`). */
  url: string;
  /** Bearer token to send; when set, the agent must refuse calls without it. */
  token?: string;
  /** A request the agent completes in a few seconds. */
  prompt: string;
  /** Where and with what text to start a task that keeps running until it is canceled. */
  longRunning: { url: string; prompt: string };
}

const V1: CallOptions = { version: '1.0' };
const KNOWN_BINDINGS = ['JSONRPC', 'HTTP+JSON', 'GRPC'];

interface Endpoints {
  jsonrpc: string;
  rest: string;
  legacyJsonrpc: string;
}

/** Interface URLs from a v1.0 card: the first interface per binding and version wins (spec §8.3). */
function endpointsOf(card: JsonObject): Endpoints {
  const interfaces = arrayAt(card, 'supportedInterfaces').filter(isObject);
  const find = (binding: string, version: string) => {
    const entry = interfaces.find((candidate) => candidate['protocolBinding'] === binding && candidate['protocolVersion'] === version);
    if (entry === undefined) throw new Error(`card declares no ${binding} ${version} interface: ${JSON.stringify(interfaces)}`);
    return stringAt(entry, 'url');
  };
  return { jsonrpc: find('JSONRPC', '1.0'), rest: find('HTTP+JSON', '1.0'), legacyJsonrpc: find('JSONRPC', '0.3') };
}

function expectRpcError(response: RpcResponse, code: number, id: string | number | null, reason?: string): void {
  // JSON-RPC errors travel with HTTP 200 (the TCK checks it).
  expect(response.status).toBe(200);
  expect(response.body['jsonrpc']).toBe('2.0');
  expect(response.body['id']).toEqual(id);
  expect(response.body).not.toHaveProperty('result');
  const error = errorOf(response);
  expect(error.code, JSON.stringify(response.body)).toBe(code);
  expect(error.message).not.toBe('');
  // No stack traces or internals on the wire.
  expect(error.message).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  // JSONRPC-ERR-003 (v1.0): A2A errors carry google.rpc.ErrorInfo with reason and domain in `data`.
  if (reason !== undefined) expect(errorInfoReasons(error.data)).toContain(reason);
}

/** DM-*: the shape of a v1.0 Task on the wire. */
function expectV1Task(task: JsonObject): void {
  expect(typeof task['id']).toBe('string');
  expect(typeof task['contextId']).toBe('string');
  const status = objectAt(task, 'status');
  expect(V1_STATES).toContain(status['state']);
  if (status['timestamp'] !== undefined) expect(status['timestamp']).toMatch(ISO_UTC);
  for (const message of Array.isArray(task['history']) ? task['history'].filter(isObject) : []) {
    expect(['ROLE_USER', 'ROLE_AGENT']).toContain(message['role']);
    expect(typeof message['messageId']).toBe('string');
    expect(Array.isArray(message['parts'])).toBe(true);
  }
  for (const artifact of Array.isArray(task['artifacts']) ? task['artifacts'].filter(isObject) : []) {
    expect(typeof artifact['artifactId']).toBe('string');
    expect(arrayAt(artifact, 'parts').length).toBeGreaterThan(0);
  }
}

/** Event kind of a v1.0 StreamResponse (exactly one member set: DM-PART-001-style oneof). */
function streamKind(result: JsonObject): 'task' | 'message' | 'statusUpdate' | 'artifactUpdate' {
  const kinds = (['task', 'message', 'statusUpdate', 'artifactUpdate'] as const).filter((key) => key in result);
  expect(kinds, JSON.stringify(result)).toHaveLength(1);
  return kinds[0]!;
}

function stateOf(result: JsonObject): string | undefined {
  const kind = streamKind(result);
  if (kind === 'task') return stringAt(objectAt(objectAt(result, 'task'), 'status'), 'state');
  if (kind === 'statusUpdate') return stringAt(objectAt(objectAt(result, 'statusUpdate'), 'status'), 'state');
  return undefined;
}

/**
 * CORE-STREAM-001/003, STREAM-ORDER-001: every event is a response to this request, the first is the
 * Task (or one Message, then the end), states never move once terminal, and the stream closes at a
 * terminal (or interrupted) state.
 */
function expectV1Lifecycle(events: JsonObject[], id: string): JsonObject[] {
  expect(events.length).toBeGreaterThan(0);
  const results = events.map((event) => {
    expect(event['jsonrpc']).toBe('2.0');
    expect(event['id']).toBe(id);
    expect(event, JSON.stringify(event)).not.toHaveProperty('error');
    return objectAt(event, 'result');
  });
  const first = streamKind(results[0]!);
  if (first === 'message') {
    expect(results).toHaveLength(1);
    return results;
  }
  expect(first).toBe('task');
  const taskId = stringAt(objectAt(results[0]!, 'task'), 'id');
  for (const result of results.slice(1)) {
    const kind = streamKind(result);
    expect(['statusUpdate', 'artifactUpdate']).toContain(kind);
    expect(stringAt(objectAt(result, kind), 'taskId')).toBe(taskId);
  }
  const states = results.map(stateOf).filter((state): state is string => state !== undefined);
  const ends = [...V1_TERMINAL_STATES, ...V1_INTERRUPTED_STATES];
  expect(ends).toContain(states.at(-1));
  // Nothing after the end state: it is the last event of the stream.
  expect(stateOf(results.at(-1)!)).toBe(states.at(-1));
  expect(states.slice(0, -1).some((state) => V1_TERMINAL_STATES.includes(state))).toBe(false);
  return results;
}

export function describeA2AConformance(getTarget: () => ConformanceTarget): void {
  let target: ConformanceTarget;
  let card: JsonObject;
  let legacyCard: JsonObject;
  let endpoints: Endpoints;
  let auth: CallOptions;
  let v1: CallOptions;
  /** A task the agent completed, created over v1.0 JSON-RPC. */
  let done: JsonObject;

  const send = (url: string, method: string, params: JsonObject, options: CallOptions) => rpc(url, request(method, params), options);

  beforeAll(async () => {
    target = getTarget();
    auth = target.token === undefined ? {} : { token: target.token };
    v1 = { ...V1, ...auth };
    card = (await (await fetch(`${target.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })).json()) as JsonObject;
    legacyCard = (await (await fetch(`${target.url}/.well-known/agent-card.json`)).json()) as JsonObject;
    endpoints = endpointsOf(card);
    const sent = await send(endpoints.jsonrpc, 'SendMessage', { message: v1Message(target.prompt) }, v1);
    done = objectAt(resultOf(sent), 'task');
  }, 120_000);

  describe('Agent Card', () => {
    it('CARD-DISC-001, CARD-STRUCT-001: the v1.0 card is served with every required field', async () => {
      const response = await fetch(`${target.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      for (const field of ['name', 'description', 'version', 'capabilities', 'skills', 'supportedInterfaces', 'defaultInputModes', 'defaultOutputModes']) {
        expect(card, `missing ${field}`).toHaveProperty(field);
      }
      for (const field of ['name', 'description', 'version']) expect(stringAt(card, field).trim()).not.toBe('');
      for (const field of ['defaultInputModes', 'defaultOutputModes']) {
        const modes = arrayAt(card, field);
        expect(modes.length).toBeGreaterThan(0);
        for (const mode of modes) expect(typeof mode === 'string' && mode.trim() !== '').toBe(true);
      }
      const skills = arrayAt(card, 'skills');
      expect(skills.length).toBeGreaterThan(0);
      for (const skill of skills) {
        for (const field of ['id', 'name', 'description']) expect(stringAt(skill, field).trim()).not.toBe('');
        expect(Array.isArray(isObject(skill) ? skill['tags'] : undefined)).toBe(true);
      }
    });

    it('CARD-PROTO-001/002, BIND-FIELD-001, VER-CLIENT-002: interfaces name a known binding, a Major.Minor version and this agent’s URL', () => {
      const interfaces = arrayAt(card, 'supportedInterfaces');
      expect(interfaces.length).toBeGreaterThan(0);
      for (const entry of interfaces) {
        expect(KNOWN_BINDINGS).toContain(stringAt(entry, 'protocolBinding'));
        expect(stringAt(entry, 'protocolVersion')).toMatch(/^\d+\.\d+$/);
        expect(stringAt(entry, 'url').startsWith(`${target.url}/`)).toBe(true);
      }
      // The preferred interface (first) is the v1.0 JSON-RPC endpoint.
      expect(interfaces[0]).toMatchObject({ protocolBinding: 'JSONRPC', protocolVersion: '1.0' });
    });

    it('CORE-CAP-001/002/003: capabilities say only what works (streaming and push yes, extended card no)', () => {
      expect(objectAt(card, 'capabilities')).toMatchObject({ streaming: true, pushNotifications: true, extendedAgentCard: false });
      expect(objectAt(legacyCard, 'capabilities')).toMatchObject({ streaming: true, pushNotifications: true });
    });

    it('CARD-CACHE-001/002: Cache-Control with max-age and an ETag; If-None-Match gets 304', async () => {
      const first = await fetch(`${target.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } });
      expect(first.headers.get('cache-control')).toMatch(/max-age=\d+/);
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
      expect(first.headers.get('vary')).toMatch(/A2A-Version/i);
      const again = await fetch(`${target.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0', 'If-None-Match': etag! } });
      expect(again.status).toBe(304);
      // The v0.3 document is a different representation: its own tag.
      const legacy = await fetch(`${target.url}/.well-known/agent-card.json`);
      expect(legacy.headers.get('etag')).not.toBe(etag);
    });

    it('v0.3 TCK (test_agent_card_mandatory, transport discovery): the card without A2A-Version is a valid v0.3 card', () => {
      for (const field of ['name', 'description', 'url', 'version', 'protocolVersion', 'capabilities', 'defaultInputModes', 'defaultOutputModes', 'skills']) {
        expect(legacyCard, `missing ${field}`).toHaveProperty(field);
      }
      expect(legacyCard['protocolVersion']).toMatch(/^0\.3/);
      expect(legacyCard['preferredTransport']).toBe('JSONRPC');
      expect(legacyCard['url']).toBe(endpoints.legacyJsonrpc);
      // Every declared transport has an endpoint: the preferred one is listed in additionalInterfaces.
      expect(arrayAt(legacyCard, 'additionalInterfaces')).toContainEqual({ url: endpoints.legacyJsonrpc, transport: 'JSONRPC' });
      for (const skill of arrayAt(legacyCard, 'skills')) expect(Array.isArray(isObject(skill) ? skill['tags'] : undefined)).toBe(true);
      // A v1.0 reader that sends no header (the v1.0 TCK fetches the card that way) finds the v1.0 interfaces.
      expect(legacyCard['supportedInterfaces']).toEqual(card['supportedInterfaces']);
    });

    it('CARD-STRUCT-001, CARD-PROTO-001 on the card the v1.0 TCK reads (fetched without A2A-Version): every v1.0 field, JSON-RPC 1.0 first', () => {
      for (const field of ['name', 'description', 'version', 'capabilities', 'skills', 'supportedInterfaces', 'defaultInputModes', 'defaultOutputModes']) {
        expect(legacyCard, `missing ${field}`).toHaveProperty(field);
      }
      expect(arrayAt(legacyCard, 'supportedInterfaces')[0]).toMatchObject({ protocolBinding: 'JSONRPC', protocolVersion: '1.0', url: endpoints.jsonrpc });
      expect(objectAt(legacyCard, 'capabilities')).toMatchObject({ streaming: true });
      for (const skill of arrayAt(legacyCard, 'skills')) {
        for (const field of ['id', 'name', 'description']) expect(stringAt(skill, field).trim()).not.toBe('');
      }
    });

    it('CARD-PROTO-002: every declared interface answers in its own binding at its URL', async () => {
      const missing = 'conformance-no-such-task';
      expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: missing } }, v1), -32001, 1, 'TASK_NOT_FOUND');
      expectRpcError(await rpc(endpoints.legacyJsonrpc, { jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { id: missing } }, auth), -32001, 2);
      const rest = await fetch(`${endpoints.rest}/tasks/${missing}`, { headers: headersFor(v1) });
      expect(rest.status).toBe(404);
      expect(rest.headers.get('content-type')).toMatch(/^application\/a2a\+json/);
    });
  });

  describe('JSON-RPC 2.0 envelope (v0.3 TCK test_json_rpc_compliance, both versions)', () => {
    it('-32700 for a body that is not JSON, with id null and HTTP 200', async () => {
      for (const options of [v1, auth]) {
        expectRpcError(await rpc(endpoints.jsonrpc, '{"jsonrpc": "2.0", "method": "message/send", "params": {"foo": "bar"}', options), -32700, null);
      }
    });

    it('-32600 for requests that are not JSON-RPC 2.0 request objects', async () => {
      for (const [options, method] of [
        [v1, 'SendMessage'],
        [auth, 'message/send'],
      ] as const) {
        expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: 'aaa', method, params: {} }, options), -32600, null);
        expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: '2.0', params: {} }, options), -32600, null);
        expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: '2.0', id: 3, params: {} }, options), -32600, 3);
        // An id of the wrong type cannot be echoed: null.
        expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: '2.0', method, params: {}, id: { bad: 'type' } }, options), -32600, null);
        expectRpcError(await rpc(endpoints.jsonrpc, '[]', options), -32600, null);
      }
    });

    it('-32601 for an unknown method, echoing the id', async () => {
      expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: '2.0', id: '3', method: 'SendMessageXXX', params: {} }, v1), -32601, '3');
      expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: '2.0', id: 4, method: 'nonexistent/method', params: {} }, auth), -32601, 4);
    });

    it('-32602 for invalid params', async () => {
      expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: '2.0', id: '4', method: 'SendMessage', params: { '': 'not_a_dict' } }, v1), -32602, '4');
      expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: '2.0', id: '5', method: 'SendMessage', params: { message: { parts: 'invalid' } } }, v1), -32602, '5');
      expectRpcError(await rpc(endpoints.jsonrpc, { jsonrpc: '2.0', id: '6', method: 'message/send', params: { message: { parts: 'invalid' } } }, auth), -32602, '6');
      const get = request('GetTask', { id: stringAt(done, 'id'), historyLength: -1 });
      expectRpcError(await rpc(endpoints.jsonrpc, get, v1), -32602, get.id);
    });

    it('JSONRPC-SSE-002: -32005 for a request body that is not application/json', async () => {
      const body = request('GetTask', { id: stringAt(done, 'id') });
      expectRpcError(await rpc(endpoints.jsonrpc, JSON.stringify(body), { ...v1, contentType: 'text/plain' }), -32005, body.id, 'CONTENT_TYPE_NOT_SUPPORTED');
    });

    it('VER-SERVER-002: -32009 for an A2A-Version the agent does not speak', async () => {
      const body = request('SendMessage', { message: v1Message('version check') });
      expectRpcError(await rpc(endpoints.jsonrpc, body, { ...auth, version: '99.0' }), -32009, body.id, 'VERSION_NOT_SUPPORTED');
    });

    it('VER-SERVER-003: no A2A-Version header means v0.3 (v1.0 method names are unknown there)', async () => {
      const body = request('SendMessage', { message: v1Message('no header') });
      expectRpcError(await rpc(endpoints.jsonrpc, body, auth), -32601, body.id);
      const explicit = request('tasks/get', { id: stringAt(done, 'id') });
      expect(resultOf(await rpc(endpoints.jsonrpc, explicit, { ...auth, version: '0.3' }))['kind']).toBe('task');
    });
  });

  describe('v1.0 operations over JSON-RPC (A2A-Version: 1.0)', () => {
    it('CORE-SEND-001, CORE-MULTI-001a/003: SendMessage returns a Task with server-made ids, blocking until it is done', () => {
      expectV1Task(done);
      expect(stringAt(objectAt(done, 'status'), 'state')).toBe('TASK_STATE_COMPLETED');
      expect(stringAt(done, 'contextId')).not.toBe('');
    });

    it('CORE-MULTI-002/002a: a client contextId is kept, or the request refused as invalid params (never replaced)', async () => {
      const contextId = `conformance-context-${Date.now()}`;
      const body = request('SendMessage', { message: v1Message(target.prompt, { contextId }) });
      const sent = await rpc(endpoints.jsonrpc, body, v1);
      if ('error' in sent.body) {
        // An agent that makes its own context ids (the orchestrator's sessions) refuses, naming the id.
        expectRpcError(sent, -32602, body.id);
        expect(errorOf(sent).message).toContain(contextId);
      } else {
        expect(stringAt(objectAt(resultOf(sent), 'task'), 'contextId')).toBe(contextId);
      }
    });

    it('CORE-GET-001/002, CORE-HIST-001/002: GetTask returns the task, honours historyLength, and -32001 for unknown ids', async () => {
      const id = stringAt(done, 'id');
      const full = resultOf(await send(endpoints.jsonrpc, 'GetTask', { id }, v1));
      expectV1Task(full);
      expect(full['id']).toBe(id);
      expect(objectAt(full, 'status')['state']).toBe('TASK_STATE_COMPLETED');
      const none = resultOf(await send(endpoints.jsonrpc, 'GetTask', { id, historyLength: 0 }, v1));
      expect(Array.isArray(none['history']) ? none['history'] : []).toHaveLength(0);
      const one = resultOf(await send(endpoints.jsonrpc, 'GetTask', { id, historyLength: 1 }, v1));
      expect(Array.isArray(one['history']) ? one['history'].length : 0).toBeLessThanOrEqual(1);
      const missing = request('GetTask', { id: 'conformance-nonexistent-get' });
      expectRpcError(await rpc(endpoints.jsonrpc, missing, v1), -32001, missing.id, 'TASK_NOT_FOUND');
    });

    it('CORE-CANCEL-002/003: CancelTask on a finished task is -32002, on an unknown one -32001', async () => {
      const terminal = request('CancelTask', { id: stringAt(done, 'id') });
      expectRpcError(await rpc(endpoints.jsonrpc, terminal, v1), -32002, terminal.id, 'TASK_NOT_CANCELABLE');
      const missing = request('CancelTask', { id: 'conformance-nonexistent-cancel' });
      expectRpcError(await rpc(endpoints.jsonrpc, missing, v1), -32001, missing.id, 'TASK_NOT_FOUND');
    });

    it('CORE-SEND-002, CORE-MULTI-004/006: messages to a finished, unknown or mismatched task are refused', async () => {
      const terminal = request('SendMessage', { message: v1Message('more', { taskId: stringAt(done, 'id') }) });
      expectRpcError(await rpc(endpoints.jsonrpc, terminal, v1), -32004, terminal.id, 'UNSUPPORTED_OPERATION');
      const unknown = request('SendMessage', { message: v1Message('more', { taskId: 'conformance-nonexistent-task' }) });
      expectRpcError(await rpc(endpoints.jsonrpc, unknown, v1), -32001, unknown.id, 'TASK_NOT_FOUND');
      // A task that is still open but named with another context.
      const openJsonrpc = endpointsOfUrl(target.longRunning.url, endpoints);
      const open = objectAt(resultOf(await send(openJsonrpc, 'SendMessage', { message: v1Message(target.longRunning.prompt), configuration: { returnImmediately: true } }, v1)), 'task');
      try {
        const mismatch = request('SendMessage', { message: v1Message('more', { taskId: stringAt(open, 'id'), contextId: 'another-context' }) });
        const response = await rpc(openJsonrpc, mismatch, v1);
        expect(response.body['id']).toBe(mismatch.id);
        expect(errorOf(response).code).toBe(-32602);
      } finally {
        await send(openJsonrpc, 'CancelTask', { id: stringAt(open, 'id') }, v1);
      }
    });

    it('CORE-SEND-003: a part whose media type the agent does not accept is -32005', async () => {
      const body = request('SendMessage', { message: { messageId: 'conformance-media', role: 'ROLE_USER', parts: [{ raw: 'dGNr', mediaType: 'application/x-unsupported-tck-type' }] } });
      expectRpcError(await rpc(endpoints.jsonrpc, body, v1), -32005, body.id, 'CONTENT_TYPE_NOT_SUPPORTED');
    });

    it('STREAM-SUB-003/004: SubscribeToTask on a finished task is -32004, on an unknown one -32001', async () => {
      const terminal = request('SubscribeToTask', { id: stringAt(done, 'id') });
      expectRpcError(await rpc(endpoints.jsonrpc, terminal, v1), -32004, terminal.id, 'UNSUPPORTED_OPERATION');
      const missing = request('SubscribeToTask', { id: 'conformance-nonexistent-sub' });
      expectRpcError(await rpc(endpoints.jsonrpc, missing, v1), -32001, missing.id, 'TASK_NOT_FOUND');
    });

    it('CORE-CAP-001: the push-config methods create (server-assigned id), get, list and delete; a metadata-address URL is -32602', async () => {
      const taskId = stringAt(done, 'id');
      // A public literal address: accepted without DNS (and the finished task sends nothing to it).
      const hook = 'https://93.184.216.34/conformance-hook';
      const created = resultOf(await send(endpoints.jsonrpc, 'CreateTaskPushNotificationConfig', { taskId, url: hook, token: 'conformance-token' }, v1));
      expect(created).toMatchObject({ taskId, url: hook, token: 'conformance-token' });
      const id = stringAt(created, 'id');
      expect(resultOf(await send(endpoints.jsonrpc, 'GetTaskPushNotificationConfig', { taskId, id }, v1))).toMatchObject({ id, url: hook });
      expect(arrayAt(resultOf(await send(endpoints.jsonrpc, 'ListTaskPushNotificationConfigs', { taskId }, v1)), 'configs')).toContainEqual(expect.objectContaining({ id, url: hook }));
      const deleted = await send(endpoints.jsonrpc, 'DeleteTaskPushNotificationConfig', { taskId, id }, v1);
      expect(deleted.body).not.toHaveProperty('error');
      const gone = request('GetTaskPushNotificationConfig', { taskId, id });
      expectRpcError(await rpc(endpoints.jsonrpc, gone, v1), -32001, gone.id, 'TASK_NOT_FOUND');
      const metadata = request('CreateTaskPushNotificationConfig', { taskId, url: 'http://169.254.169.254/latest/meta-data/' });
      expectRpcError(await rpc(endpoints.jsonrpc, metadata, v1), -32602, metadata.id, 'INVALID_PARAMS');
    });

    it('CORE-CAP-003: GetExtendedAgentCard is -32004 (not declared)', async () => {
      const body = request('GetExtendedAgentCard');
      expectRpcError(await rpc(endpoints.jsonrpc, body, v1), -32004, body.id, 'UNSUPPORTED_OPERATION');
    });

    it('CORE-LIST-001/004/005: ListTasks pages with nextPageToken always present, and filters by context', async () => {
      const listed = resultOf(await send(endpoints.jsonrpc, 'ListTasks', { contextId: stringAt(done, 'contextId') }, v1));
      expect(typeof listed['nextPageToken']).toBe('string');
      const tasks = arrayAt(listed, 'tasks').filter(isObject);
      expect(tasks.map((task) => task['id'])).toContain(done['id']);
      for (const task of tasks) {
        expect(task['contextId']).toBe(done['contextId']);
        // includeArtifacts defaults to false: the field is left out entirely.
        expect(task).not.toHaveProperty('artifacts');
      }
      const empty = resultOf(await send(endpoints.jsonrpc, 'ListTasks', { contextId: 'conformance-empty-context' }, v1));
      expect(empty).toMatchObject({ tasks: [], nextPageToken: '' });
    });

    it('CORE-STREAM-001/003, STREAM-ORDER-001: SendStreamingMessage streams the task to its end over SSE', async () => {
      const body = request('SendStreamingMessage', { message: v1Message(target.prompt) });
      const stream = await rpcStream(endpoints.jsonrpc, body, v1);
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const results = expectV1Lifecycle(stream.events, body.id);
      expect(stateOf(results.at(-1)!)).toBe('TASK_STATE_COMPLETED');
      // The stored task agrees with what was streamed.
      const taskId = stringAt(objectAt(results[0]!, 'task'), 'id');
      const stored = resultOf(await send(endpoints.jsonrpc, 'GetTask', { id: taskId }, v1));
      expect(objectAt(stored, 'status')['state']).toBe('TASK_STATE_COMPLETED');
      const streamedArtifacts = new Set(results.filter((result) => 'artifactUpdate' in result).map((result) => stringAt(objectAt(objectAt(result, 'artifactUpdate'), 'artifact'), 'artifactId')));
      expect(new Set(arrayAt(stored, 'artifacts').map((artifact) => stringAt(artifact, 'artifactId')))).toEqual(streamedArtifacts);
    });

    it('CORE-EXECUTION-MODE-002, CORE-CANCEL-001, STREAM-SUB-001/002: a running task can be watched and canceled', async () => {
      const url = endpointsOfUrl(target.longRunning.url, endpoints);
      const started = resultOf(await send(url, 'SendMessage', { message: v1Message(target.longRunning.prompt), configuration: { returnImmediately: true } }, v1));
      const task = objectAt(started, 'task');
      expectV1Task(task);
      expect(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING']).toContain(objectAt(task, 'status')['state']);
      const taskId = stringAt(task, 'id');

      const subscribe = request('SubscribeToTask', { id: taskId });
      let canceled: JsonObject | undefined;
      const stream = await rpcStream(url, subscribe, v1, async (_event, index) => {
        if (index === 0) canceled = resultOf(await send(url, 'CancelTask', { id: taskId }, v1));
      });
      const results = stream.events.map((event) => objectAt(event, 'result'));
      expect(streamKind(results[0]!)).toBe('task');
      expect(stringAt(objectAt(results[0]!, 'task'), 'id')).toBe(taskId);
      expect(stateOf(results.at(-1)!)).toBe('TASK_STATE_CANCELED');
      expect(objectAt(canceled, 'status')['state']).toBe('TASK_STATE_CANCELED');
      expect(objectAt(resultOf(await send(url, 'GetTask', { id: taskId }, v1)), 'status')['state']).toBe('TASK_STATE_CANCELED');
      const again = request('CancelTask', { id: taskId });
      expectRpcError(await rpc(url, again, v1), -32002, again.id, 'TASK_NOT_CANCELABLE');
    });
  });

  describe('v0.3 methods (no A2A-Version header: the v0.3 TCK’s mandatory tests)', () => {
    let legacyTask: JsonObject;

    beforeAll(async () => {
      legacyTask = resultOf(await send(endpoints.legacyJsonrpc, 'message/send', { message: v03Message(target.prompt) }, auth));
    }, 60_000);

    it('message/send returns a v0.3 Task (kind, lowercase state)', () => {
      expect(legacyTask['kind']).toBe('task');
      expect(typeof legacyTask['id']).toBe('string');
      expect(typeof legacyTask['contextId']).toBe('string');
      expect(objectAt(legacyTask, 'status')['state']).toBe('completed');
    });

    it('tasks/get returns the task and honours historyLength; -32001 for unknown ids', async () => {
      const id = stringAt(legacyTask, 'id');
      const got = resultOf(await send(endpoints.legacyJsonrpc, 'tasks/get', { id, historyLength: 1 }, auth));
      expect(got).toMatchObject({ kind: 'task', id });
      expect(Array.isArray(got['history']) ? got['history'].length : 0).toBeLessThanOrEqual(1);
      const missing = request('tasks/get', { id: 'conformance-nonexistent-v03' });
      expectRpcError(await rpc(endpoints.legacyJsonrpc, missing, auth), -32001, missing.id);
    });

    it('tasks/cancel on a finished task is -32002; tasks/resubscribe on it is -32004', async () => {
      const id = stringAt(legacyTask, 'id');
      const cancel = request('tasks/cancel', { id });
      expectRpcError(await rpc(endpoints.legacyJsonrpc, cancel, auth), -32002, cancel.id);
      const resubscribe = request('tasks/resubscribe', { id });
      expectRpcError(await rpc(endpoints.legacyJsonrpc, resubscribe, auth), -32004, resubscribe.id);
    });

    it('push-notification config methods set, get, list and delete (a metadata URL is -32602); the authenticated extended card is -32004', async () => {
      const taskId = stringAt(legacyTask, 'id');
      const hook = 'https://93.184.216.34/conformance-v03-hook';
      const set = resultOf(await send(endpoints.legacyJsonrpc, 'tasks/pushNotificationConfig/set', { taskId, pushNotificationConfig: { url: hook } }, auth));
      const config = objectAt(set, 'pushNotificationConfig');
      expect(config['url']).toBe(hook);
      const configId = stringAt(config, 'id');
      expect(objectAt(resultOf(await send(endpoints.legacyJsonrpc, 'tasks/pushNotificationConfig/get', { id: taskId, pushNotificationConfigId: configId }, auth)), 'pushNotificationConfig')).toMatchObject({ id: configId, url: hook });
      const listed = await send(endpoints.legacyJsonrpc, 'tasks/pushNotificationConfig/list', { id: taskId }, auth);
      expect(JSON.stringify(listed.body['result'])).toContain(hook);
      const deleted = await send(endpoints.legacyJsonrpc, 'tasks/pushNotificationConfig/delete', { id: taskId, pushNotificationConfigId: configId }, auth);
      expect(deleted.body).not.toHaveProperty('error');
      const refused = request('tasks/pushNotificationConfig/set', { taskId, pushNotificationConfig: { url: 'http://169.254.169.254/' } });
      expectRpcError(await rpc(endpoints.legacyJsonrpc, refused, auth), -32602, refused.id);
      const extended = request('agent/getAuthenticatedExtendedCard');
      expectRpcError(await rpc(endpoints.legacyJsonrpc, extended, auth), -32004, extended.id);
    });

    it('message/stream: task first, then status/artifact updates, ending with final: true at a terminal state', async () => {
      const body = request('message/stream', { message: v03Message(target.prompt) });
      const stream = await rpcStream(endpoints.legacyJsonrpc, body, auth);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const results = stream.events.map((event) => {
        expect(event['id']).toBe(body.id);
        return objectAt(event, 'result');
      });
      expect(results[0]!['kind']).toBe('task');
      for (const result of results.slice(1)) expect(['status-update', 'artifact-update']).toContain(result['kind']);
      const last = results.at(-1)!;
      expect(last).toMatchObject({ kind: 'status-update', final: true });
      expect(V03_TERMINAL_STATES).toContain(objectAt(last, 'status')['state']);
      expect(results.slice(0, -1).some((result) => result['final'] === true)).toBe(false);
    });

    it('tasks/cancel on a running task cancels it; its stream ends with final: true, canceled', async () => {
      const url = endpointsOfUrl(target.longRunning.url, endpoints, 'legacy');
      const body = request('message/stream', { message: v03Message(target.longRunning.prompt) });
      const stream = await rpcStream(url, body, auth, async (event, index) => {
        if (index === 0) {
          const canceled = resultOf(await send(url, 'tasks/cancel', { id: stringAt(objectAt(event, 'result'), 'id') }, auth));
          expect(objectAt(canceled, 'status')['state']).toBe('canceled');
        }
      });
      expect(objectAt(stream.events.at(-1), 'result')).toMatchObject({ kind: 'status-update', final: true, status: { state: 'canceled' } });
    });
  });

  describe('HTTP+JSON binding (v1.0)', () => {
    const restFetch = (path: string, init: RequestInit & { contentType?: string } = {}) =>
      fetch(`${endpoints.rest}${path}`, { ...init, headers: headersFor({ ...v1, contentType: init.contentType }) });

    async function expectRestError(response: Response, status: number, reason: string): Promise<void> {
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/a2a\+json/);
      // HTTP_JSON-ERR-001/002: AIP-193 body with an ErrorInfo in details.
      const body = (await response.json()) as JsonObject;
      const error = objectAt(body, 'error');
      expect(error['code']).toBe(status);
      expect(typeof error['status']).toBe('string');
      expect(typeof error['message']).toBe('string');
      expect(errorInfoReasons(error['details'])).toContain(reason);
    }

    it('HTTP_JSON-URL-001, HTTP_JSON-SVC-001: message:send and GET tasks/{id} answer application/a2a+json', async () => {
      const sent = await restFetch('/message:send', { method: 'POST', body: JSON.stringify({ message: v1Message(target.prompt) }) });
      expect(sent.status).toBe(200);
      expect(sent.headers.get('content-type')).toMatch(/^application\/a2a\+json/);
      const task = objectAt((await sent.json()), 'task');
      expectV1Task(task);
      const got = await restFetch(`/tasks/${stringAt(task, 'id')}?historyLength=0`);
      expect(got.status).toBe(200);
      const body = (await got.json()) as JsonObject;
      expect(body['id']).toBe(task['id']);
      expect(Array.isArray(body['history']) ? body['history'] : []).toHaveLength(0);
    });

    it('HTTP_JSON-STATUS-001: 404 unknown task, 409 cancel of a finished task, 400 subscribe to it, 400 refused push URL', async () => {
      const id = stringAt(done, 'id');
      await expectRestError(await restFetch('/tasks/conformance-nonexistent-rest'), 404, 'TASK_NOT_FOUND');
      await expectRestError(await restFetch(`/tasks/${id}:cancel`, { method: 'POST' }), 409, 'TASK_NOT_CANCELABLE');
      await expectRestError(await restFetch(`/tasks/${id}:subscribe`, { method: 'POST' }), 400, 'UNSUPPORTED_OPERATION');
      await expectRestError(
        await restFetch(`/tasks/${id}/pushNotificationConfigs`, { method: 'POST', body: JSON.stringify({ url: 'http://169.254.169.254/' }) }),
        400,
        'INVALID_PARAMS',
      );
      const created = await restFetch(`/tasks/${id}/pushNotificationConfigs`, { method: 'POST', body: JSON.stringify({ url: 'https://93.184.216.34/rest-hook' }) });
      expect(created.status).toBe(201);
      const configId = stringAt((await created.json()), 'id');
      expect(((await (await restFetch(`/tasks/${id}/pushNotificationConfigs/${configId}`)).json()) as JsonObject)['url']).toBe('https://93.184.216.34/rest-hook');
      expect((await restFetch(`/tasks/${id}/pushNotificationConfigs/${configId}`, { method: 'DELETE' })).status).toBe(204);
      await expectRestError(await restFetch('/extendedAgentCard'), 400, 'UNSUPPORTED_OPERATION');
    });

    it('HTTP_JSON-STATUS-001: 415 for an unsupported body content type or part media type', async () => {
      await expectRestError(await restFetch('/message:send', { method: 'POST', contentType: 'text/plain', body: JSON.stringify({ message: v1Message('x') }) }), 415, 'CONTENT_TYPE_NOT_SUPPORTED');
      const media = { message: { messageId: 'conformance-rest-media', role: 'ROLE_USER', parts: [{ raw: 'dGNr', mediaType: 'application/x-unsupported-tck-type' }] } };
      await expectRestError(await restFetch('/message:send', { method: 'POST', body: JSON.stringify(media) }), 415, 'CONTENT_TYPE_NOT_SUPPORTED');
    });

    it('HTTP_JSON-QP-001, CORE-LIST-004: GET /tasks with camelCase query parameters', async () => {
      const listed = await restFetch(`/tasks?contextId=${encodeURIComponent(stringAt(done, 'contextId'))}&pageSize=10`);
      expect(listed.status).toBe(200);
      const body = (await listed.json()) as JsonObject;
      expect(typeof body['nextPageToken']).toBe('string');
      expect(arrayAt(body, 'tasks').map((task) => stringAt(task, 'id'))).toContain(done['id']);
    });

    it('HTTP_JSON-SSE-001: message:stream is SSE whose data are StreamResponse objects', async () => {
      const response = await restFetch('/message:stream', { method: 'POST', body: JSON.stringify({ message: v1Message(target.prompt) }) });
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const { events } = await readSse(response);
      expect(streamKind(events[0]!)).toBe('task');
      const states = events.map(stateOf).filter((state): state is string => state !== undefined);
      expect(states.at(-1)).toBe('TASK_STATE_COMPLETED');
    });
  });

  describe('A2A routes as the v1.0 TCK reaches them (card URL plus "/") and their transport errors', () => {
    /** The v1.0 TCK's JSON-RPC client posts to the card's URL with a trailing slash. */
    const slashed = () => `${endpoints.jsonrpc}/`;
    /** A JSON-RPC error object as JSON-RPC 2.0 §5.1 defines it, whatever the HTTP status; never the OpenAI shape. */
    const expectTransportRpcError = (status: number, body: unknown, httpStatus: number, code: number) => {
      expect(status, JSON.stringify(body)).toBe(httpStatus);
      expect(isObject(body)).toBe(true);
      const envelope = body as JsonObject;
      expect(envelope['jsonrpc']).toBe('2.0');
      expect(envelope['id']).toBeNull();
      expect(envelope).not.toHaveProperty('result');
      const error = objectAt(envelope, 'error');
      expect(Number.isInteger(error['code'])).toBe(true);
      expect(error['code']).toBe(code);
      expect(typeof error['message']).toBe('string');
      expect(error).not.toHaveProperty('type');
      expect(error).not.toHaveProperty('param');
    };
    /** AIP-193 (HTTP_JSON-ERR-001): `{ error: { code: <HTTP status>, status, message, details[] } }`. */
    const expectAip193 = (status: number, contentType: string | null | undefined, body: unknown, httpStatus: number, statusName: string) => {
      expect(status, JSON.stringify(body)).toBe(httpStatus);
      expect(contentType).toMatch(/^application\/(a2a\+)?json/);
      expect(isObject(body) && Object.keys(body)).toEqual(['error']);
      const error = objectAt(body, 'error');
      expect(error['code']).toBe(httpStatus);
      expect(error['status']).toBe(statusName);
      expect(typeof error['message']).toBe('string');
      expect(Array.isArray(error['details'])).toBe(true);
    };

    it('TCK transport: v1.0 methods answer at the JSON-RPC URL plus "/": SendMessage, GetTask, CancelTask, -32001', async () => {
      const sent = resultOf(await send(slashed(), 'SendMessage', { message: v1Message(target.prompt) }, v1));
      const task = objectAt(sent, 'task');
      expectV1Task(task);
      expect(objectAt(task, 'status')['state']).toBe('TASK_STATE_COMPLETED');
      const got = resultOf(await send(slashed(), 'GetTask', { id: stringAt(task, 'id') }, v1));
      expect(got['id']).toBe(task['id']);
      const missing = request('GetTask', { id: 'conformance-nonexistent-slash' });
      expectRpcError(await rpc(slashed(), missing, v1), -32001, missing.id, 'TASK_NOT_FOUND');
      const cancel = request('CancelTask', { id: stringAt(task, 'id') });
      expectRpcError(await rpc(slashed(), cancel, v1), -32002, cancel.id, 'TASK_NOT_CANCELABLE');
      // The v0.3 interface (its own card entry) takes the slash too.
      const legacy = request('tasks/get', { id: stringAt(task, 'id') });
      expect(resultOf(await rpc(`${endpoints.legacyJsonrpc}/`, legacy, auth))).toMatchObject({ kind: 'task', id: task['id'] });
    });

    it('TCK transport: the JSON-RPC envelope errors keep their codes at the URL plus "/" (-32700, -32600, -32601, -32602, -32005)', async () => {
      expectRpcError(await rpc(slashed(), '{"jsonrpc": "2.0", "method": "SendMessage", "params": {', v1), -32700, null);
      expectRpcError(await rpc(slashed(), { jsonrpc: '1.0', id: 7, method: 'SendMessage', params: {} }, v1), -32600, 7);
      expectRpcError(await rpc(slashed(), { jsonrpc: '2.0', id: 8, method: 'NoSuchMethod', params: {} }, v1), -32601, 8);
      expectRpcError(await rpc(slashed(), { jsonrpc: '2.0', id: 9, method: 'SendMessage', params: { message: { parts: 'invalid' } } }, v1), -32602, 9);
      const body = request('GetTask', { id: stringAt(done, 'id') });
      expectRpcError(await rpc(slashed(), JSON.stringify(body), { ...v1, contentType: 'text/plain' }), -32005, body.id, 'CONTENT_TYPE_NOT_SUPPORTED');
    });

    it('JSONRPC-SSE-001 at the URL plus "/": SendStreamingMessage is SSE of JSON-RPC responses carrying StreamResponses', async () => {
      const body = request('SendStreamingMessage', { message: v1Message(target.prompt) });
      const stream = await rpcStream(slashed(), body, v1);
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const results = expectV1Lifecycle(stream.events, body.id);
      expect(stateOf(results.at(-1)!)).toBe('TASK_STATE_COMPLETED');
    });

    it('VER-CLIENT-002: a patch number in A2A-Version does not affect negotiation (1.0.3 is served as 1.0)', async () => {
      const body = request('GetTask', { id: stringAt(done, 'id') });
      expect(resultOf(await rpc(slashed(), body, { ...auth, version: '1.0.3' }))['id']).toBe(done['id']);
      const rest = await fetch(`${endpoints.rest}/tasks/${stringAt(done, 'id')}`, { headers: headersFor({ ...auth, version: '1.0.3' }) });
      expect(rest.status).toBe(200);
      expect(((await rest.json()) as JsonObject)['id']).toBe(done['id']);
    });

    it('CORE-ERR-001 on the JSON-RPC binding: a wrong HTTP method, an unknown path and an oversized body are JSON-RPC error objects', async () => {
      for (const url of [endpoints.jsonrpc, slashed()]) {
        const get = await fetch(url, { headers: headersFor(v1) });
        expect(get.headers.get('allow')).toBe('POST');
        expectTransportRpcError(get.status, await get.json(), 405, -32600);
        const tooLarge = await postDeclaringLength(url, 2 ** 30, headersFor(v1));
        expect(tooLarge.headers['content-type']).toMatch(/^application\/json/);
        expectTransportRpcError(tooLarge.status, JSON.parse(tooLarge.text), 413, -32600);
      }
      const base = new URL(endpoints.jsonrpc).origin;
      for (const path of ['/a2a/jsonrpc/extra', '/a2a/no-such-binding', '/a2a']) {
        const response = await fetch(`${base}${path}`, { method: 'POST', headers: headersFor(v1), body: JSON.stringify(request('GetTask', { id: 'x' })) });
        expectTransportRpcError(response.status, await response.json(), 404, -32601);
      }
    });

    it('HTTP_JSON-ERR-001 on the HTTP+JSON binding: an unknown route, a wrong method, an oversized or malformed body are AIP-193 errors', async () => {
      const headers = headersFor(v1);
      for (const [path, method] of [
        ['/no-such-route', 'GET'],
        ['/message:send', 'GET'],
        ['', 'DELETE'],
        ['/', 'GET'],
      ] as const) {
        const response = await fetch(`${endpoints.rest}${path}`, { method, headers });
        expectAip193(response.status, response.headers.get('content-type'), await response.json(), 404, 'NOT_FOUND');
      }
      for (const path of ['/message:send', '/message:send/']) {
        const tooLarge = await postDeclaringLength(`${endpoints.rest}${path}`, 2 ** 30, headers);
        expectAip193(tooLarge.status, tooLarge.headers['content-type'], JSON.parse(tooLarge.text), 413, 'INVALID_ARGUMENT');
      }
      const malformed = await fetch(`${endpoints.rest}/message:send/`, { method: 'POST', headers, body: '{"message": ' });
      expectAip193(malformed.status, malformed.headers.get('content-type'), await malformed.json(), 400, 'INVALID_ARGUMENT');
      // The slashed REST paths serve as the bare ones do.
      const got = await fetch(`${endpoints.rest}/tasks/${stringAt(done, 'id')}/`, { headers });
      expect(got.status).toBe(200);
      expect(((await got.json()) as JsonObject)['id']).toBe(done['id']);
    });

    it('CORE-LIST-002/003: ListTasks pages with a cursor, newest status first, every task once, the last page with an empty token', async () => {
      // At least three tasks of this caller exist by now (the suite made them); walk them two by two.
      const seen: string[] = [];
      const stamps: string[] = [];
      let pageToken = '';
      for (let page = 0; page < 100; page += 1) {
        const listed = resultOf(await send(endpoints.jsonrpc, 'ListTasks', { pageSize: 2, pageToken }, v1));
        const tasks = arrayAt(listed, 'tasks').filter(isObject);
        expect(tasks.length).toBeLessThanOrEqual(2);
        for (const task of tasks) {
          seen.push(stringAt(task, 'id'));
          stamps.push(stringAt(objectAt(task, 'status'), 'timestamp'));
        }
        pageToken = stringAt(listed, 'nextPageToken');
        if (pageToken === '') break;
        expect(tasks).toHaveLength(2);
      }
      expect(pageToken).toBe('');
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toContain(done['id']);
      expect([...stamps].sort().reverse()).toEqual(stamps);
    });
  });

  describe('authentication', () => {
    it('with a token configured: the card declares it, and both endpoints answer 401 with WWW-Authenticate without it', async () => {
      if (target.token === undefined) {
        // No auth configured: the card must not claim any.
        expect(card['securitySchemes'] ?? {}).toEqual({});
        expect(legacyCard).not.toHaveProperty('security');
        return;
      }
      expect(objectAt(card, 'securitySchemes')).toMatchObject({ bearer: { httpAuthSecurityScheme: { scheme: 'Bearer' } } });
      expect(arrayAt(card, 'securityRequirements')).toEqual([{ schemes: { bearer: {} } }]);
      expect(objectAt(legacyCard, 'securitySchemes')).toMatchObject({ bearer: { type: 'http', scheme: 'bearer' } });
      expect(arrayAt(legacyCard, 'security')).toEqual([{ bearer: [] }]);

      const body = request('GetTask', { id: stringAt(done, 'id') });
      for (const token of [undefined, 'wrong-token']) {
        const jsonrpc = await fetch(endpoints.jsonrpc, { method: 'POST', headers: headersFor({ ...V1, token }), body: JSON.stringify(body) });
        expect(jsonrpc.status).toBe(401);
        expect(jsonrpc.headers.get('www-authenticate')).toMatch(/^Bearer/);
        const rpcBody = (await jsonrpc.json()) as JsonObject;
        expect(rpcBody['jsonrpc']).toBe('2.0');
        expect(typeof objectAt(rpcBody, 'error')['code']).toBe('number');
        const rest = await fetch(`${endpoints.rest}/tasks/${stringAt(done, 'id')}`, { headers: headersFor({ ...V1, token }) });
        expect(rest.status).toBe(401);
        expect(rest.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(objectAt((await rest.json()) as JsonObject, 'error')['status']).toBe('UNAUTHENTICATED');
        // The same gate on the paths the TCK uses (card URL plus "/"), refusing in the same formats.
        const slashedRpc = await fetch(`${endpoints.jsonrpc}/`, { method: 'POST', headers: headersFor({ ...V1, token }), body: JSON.stringify(body) });
        expect(slashedRpc.status).toBe(401);
        expect(slashedRpc.headers.get('www-authenticate')).toMatch(/^Bearer/);
        const slashedBody = (await slashedRpc.json()) as JsonObject;
        expect(slashedBody).toMatchObject({ jsonrpc: '2.0', id: null });
        expect(Number.isInteger(objectAt(slashedBody, 'error')['code'])).toBe(true);
        const slashedRest = await fetch(`${endpoints.rest}/tasks/${stringAt(done, 'id')}/`, { headers: headersFor({ ...V1, token }) });
        expect(slashedRest.status).toBe(401);
        expect(objectAt((await slashedRest.json()) as JsonObject, 'error')).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
      }
      // The card stays public.
      expect((await fetch(`${target.url}/.well-known/agent-card.json`)).status).toBe(200);
    });
  });
}

/** The JSON-RPC URL (v1.0 or v0.3) of the service running long tasks, which may be another process. */
function endpointsOfUrl(baseUrl: string, known: Endpoints, which: 'v1' | 'legacy' = 'v1'): string {
  const path = new URL(which === 'v1' ? known.jsonrpc : known.legacyJsonrpc).pathname;
  return `${baseUrl}${path}`;
}
