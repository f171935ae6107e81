import { randomUUID } from 'node:crypto';

import { OrchestratorMetadataKey } from '@ensemble/protocol';
import { beforeAll, describe, expect, it } from 'vitest';

import { CONFORMANCE_TOKEN, describeAgentConformance, startMockAgent, startOrchestrator, startPlanningAgent } from './support/agents.js';
import { type CallOptions, type JsonObject, type RpcResponse, errorOf, objectAt, request, resultOf, rpc, stringAt, v1Message } from './support/wire.js';

/**
 * `apps/orchestrator` with bearer auth, planning with the real planning agent (LLM: sim-llm) over one
 * mock agent. The long-running task is one whose planning call hangs in sim-llm until it is canceled.
 */
const target = describeAgentConformance(
  'orchestrator',
  async (deps) => {
    const search = await startMockAgent(deps, { name: 'mock-search', token: CONFORMANCE_TOKEN });
    const planner = await startPlanningAgent(deps, { agentUrls: [search.url], token: CONFORMANCE_TOKEN });
    const orchestrator = await startOrchestrator(deps, { agentUrls: [planner.url, search.url], token: CONFORMANCE_TOKEN });
    return {
      url: orchestrator.url,
      token: CONFORMANCE_TOKEN,
      prompt: 'Find recent articles about the A2A protocol',
      longRunning: { url: orchestrator.url, prompt: `Find articles about ${deps.hangMarker}` },
    };
  },
  180_000,
);

/**
 * CORE-MULTI-002a as the orchestrator meets it: session ids are made by its session store, so a new
 * workflow on a contextId the client chose is refused (-32602), never started under another id. The
 * SDK fills an empty contextId in before the orchestrator sees the message; the kit records what the
 * client actually sent (`clientContextId`), which is how "new" and "client-chosen" are told apart.
 */
describe('orchestrator: client contextIds', () => {
  const v1: CallOptions = { version: '1.0', token: CONFORMANCE_TOKEN };
  const jsonrpc = () => `${target().url}/a2a/jsonrpc`;
  /** A message sent on behalf of an end user (trusted: the caller holds our token). */
  const asUser = (user: string, extra: JsonObject = {}) => v1Message(target().prompt, { metadata: { [OrchestratorMetadataKey.principal]: user }, ...extra });
  const send = (method: string, message: JsonObject) => {
    const body = request(method, { message });
    return rpc(jsonrpc(), body, v1).then((response) => ({ response, id: body.id }));
  };
  const expectRefused = (sent: { response: RpcResponse; id: string }, contextId: string) => {
    expect(sent.response.body['id']).toBe(sent.id);
    const error = errorOf(sent.response);
    expect(error.code).toBe(-32602);
    expect(error.message).toContain(`"${contextId}" is not a session of this orchestrator`);
    expect(error.message).toContain('send no contextId');
    return error;
  };
  let aliceSession: string;

  beforeAll(async () => {
    const { response } = await send('SendMessage', asUser('alice'));
    const task = objectAt(resultOf(response), 'task');
    expect(objectAt(task, 'status')['state']).toBe('TASK_STATE_COMPLETED');
    aliceSession = stringAt(task, 'contextId');
  }, 120_000);

  it('starts a new workflow under a server-made session id when the message has no contextId', () => {
    expect(aliceSession).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('refuses a new workflow on an unused, well-formed contextId (blocking and streaming) instead of replacing it', async () => {
    const contextId = randomUUID();
    expectRefused(await send('SendMessage', asUser('alice', { contextId })), contextId);
    expectRefused(await send('SendStreamingMessage', asUser('alice', { contextId })), contextId);
  });

  it("answers another owner's session exactly like an unknown one", async () => {
    const unknown = randomUUID();
    const foreign = expectRefused(await send('SendMessage', asUser('bob', { contextId: aliceSession })), aliceSession);
    const missing = expectRefused(await send('SendMessage', asUser('bob', { contextId: unknown })), unknown);
    expect(foreign.message.replace(aliceSession, '<id>')).toBe(missing.message.replace(unknown, '<id>'));
    expect(JSON.stringify(foreign.data).replace(aliceSession, '<id>')).toBe(JSON.stringify(missing.data).replace(unknown, '<id>'));
  });

  it('keeps the contextId of a session the client owns', async () => {
    // Alice's workflow has finished: her contextId gets its kept answer, on that same context.
    const { response } = await send('SendMessage', asUser('alice', { contextId: aliceSession }));
    const task = objectAt(resultOf(response), 'task');
    expect(task['contextId']).toBe(aliceSession);
    expect(objectAt(task, 'status')['state']).toBe('TASK_STATE_COMPLETED');
  });
});
