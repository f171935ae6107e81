/**
 * The contenders `bench:dag` measures the Ensemble orchestrator against, all running the same layered DAG
 * of A2A calls to the same mock agent through the official `@a2a-js/sdk` client (no Ensemble code in the
 * call path):
 *
 * - a bare `Promise.all` per layer (the floor: no engine at all);
 * - with `--peers`, LangGraph.js (a `StateGraph`, every node joined on its whole previous layer) and Mastra
 *   workflows (one `.parallel()` per layer), loaded from `bench/.peers` (`npm run bench:peers`).
 *
 * Each times the DAG in this process: first call sent -> last call finished.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

import { Role, TaskState } from '@a2a-js/sdk';
import { type Client, ClientFactory } from '@a2a-js/sdk/client';

import { PEERS_DIR } from './peers.js';

/** The layered DAG every contender runs: `layers` layers of `width` nodes, each on the whole previous layer. */
export interface LayeredDag {
  layers: number;
  width: number;
}

export const layerIds = (width: number, layer: number) => Array.from({ length: width }, (_, index) => `n${layer}-${index}`);

/**
 * Per layer of a run of `layerIds` nodes (node id -> start and completion time, ms): the layer's span
 * (first start -> last completion) minus the agent's own `nodeMs`, and for every layer after the first
 * the handoff (last completion of the previous layer -> first start of this one).
 */
export function layerTimeline(starts: Map<string, number>, completions: Map<string, number>, nodeMs: number): { layerSpans: number[]; handoffs: number[] } {
  const layerOf = (node: string) => Number(node.slice(1, node.indexOf('-')));
  const layerCount = Math.max(...[...starts.keys()].map(layerOf)) + 1;
  const inLayer = (times: Map<string, number>, layer: number) => [...times].filter(([node]) => layerOf(node) === layer).map(([, at]) => at);
  const layerSpans: number[] = [];
  const handoffs: number[] = [];
  for (let layer = 0; layer < layerCount; layer += 1) {
    layerSpans.push(Math.max(...inLayer(completions, layer)) - Math.min(...inLayer(starts, layer)) - nodeMs);
    if (layer > 0) handoffs.push(Math.min(...inLayer(starts, layer)) - Math.max(...inLayer(completions, layer - 1)));
  }
  return { layerSpans, handoffs };
}

/** When a node's call was sent and when it finished (wall clock, ms, sub-millisecond precision). */
export interface NodeTimes {
  sent: number;
  done: number;
}

/** Wall-clock time in ms with sub-millisecond precision, comparable with the agent's own timestamps. */
export const epochMs = () => performance.timeOrigin + performance.now();

/** When the agent itself took a node in and worked on it: its `mock work done` log line (wall clock, ms). */
export interface AgentWork {
  /** The agent's kit handed the request to the run (the request read, parsed, its task created). */
  received: number;
  started: number;
  done: number;
}

/** The caller's and the agent's share of each layer, per layer, in ms: see `layerPhases`. */
export interface LayerPhases {
  toAgent: number[];
  intake: number[];
  after: number[];
}

/**
 * Each layer split around the agent's own work (all in ms, per layer, from node id -> time maps):
 * `toAgent` = the layer's first node sent -> the agent taking in the first of its requests (the caller
 * sending, the request on its way); `intake` = that -> the agent beginning the work of the layer's last
 * node (the agent reading, parsing and starting the layer's requests, one after another); `after` = the
 * agent finishing the layer's last node to finish -> the layer complete for the caller (the result read,
 * and for Ensemble persisted).
 */
export function layerPhases(starts: Map<string, number>, completions: Map<string, number>, work: Map<string, AgentWork>): LayerPhases {
  const layerOf = (node: string) => Number(node.slice(1, node.indexOf('-')));
  const layers = new Map<number, string[]>();
  for (const node of starts.keys()) layers.set(layerOf(node), [...(layers.get(layerOf(node)) ?? []), node]);
  const toAgent: number[] = [];
  const intake: number[] = [];
  const after: number[] = [];
  for (const nodes of layers.values()) {
    const worked = nodes.map((node) => work.get(node));
    if (worked.some((entry) => entry === undefined) || nodes.some((node) => !completions.has(node))) continue;
    const entries = worked as AgentWork[];
    const firstReceived = Math.min(...entries.map((entry) => entry.received));
    toAgent.push(firstReceived - Math.min(...nodes.map((node) => starts.get(node)!)));
    intake.push(Math.max(...entries.map((entry) => entry.started)) - firstReceived);
    after.push(Math.max(...nodes.map((node) => completions.get(node)!)) - Math.max(...entries.map((entry) => entry.done)));
  }
  return { toAgent, intake, after };
}

/** One node: an A2A streaming call to the agent, read to its terminal state; its times go to `nodes`. */
async function callNode(client: Client, id: string, nodes: Map<string, NodeTimes>): Promise<void> {
  const sent = epochMs();
  const message = {
    messageId: crypto.randomUUID(),
    contextId: crypto.randomUUID(),
    taskId: '',
    role: Role.ROLE_USER,
    parts: [{ content: { $case: 'text' as const, value: `work ${id}` }, metadata: undefined, filename: '', mediaType: '' }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
  let state: TaskState | undefined;
  for await (const response of client.sendMessageStream({ message, configuration: undefined, metadata: undefined, tenant: '' })) {
    const payload = response.payload;
    if (payload?.$case === 'task') state = payload.value.status?.state;
    else if (payload?.$case === 'statusUpdate') state = payload.value.status?.state;
  }
  if (state !== TaskState.TASK_STATE_COMPLETED) throw new Error(`A2A call ${id} ended in state ${state}`);
  nodes.set(id, { sent, done: epochMs() });
}

/** One run of the DAG: wall time (first call sent -> last call finished) and every node's call, in ms. */
export interface DagTiming {
  wall: number;
  nodes: Map<string, NodeTimes>;
}

export type DagRunner = (dag: LayeredDag) => Promise<DagTiming>;

/** The official A2A client for the agent at `url`. */
export function officialClient(url: string): Promise<Client> {
  return new ClientFactory().createFromUrl(url);
}

/** No engine: `Promise.all` over each layer, layer after layer. */
export function bareRunner(client: Client): DagRunner {
  return async ({ layers, width }) => {
    const nodes = new Map<string, NodeTimes>();
    const started = performance.now();
    for (let layer = 0; layer < layers; layer += 1) await Promise.all(layerIds(width, layer).map((id) => callNode(client, id, nodes)));
    return { wall: performance.now() - started, nodes };
  };
}

/** A module installed in bench/.peers (not resolvable from the workspaces, by design). */
async function importPeer<T>(specifier: string): Promise<T> {
  if (!existsSync(`${PEERS_DIR}node_modules`)) throw new Error('benchmark peers are not installed: run `npm run bench:peers` first');
  const resolved = createRequire(`${PEERS_DIR}package.json`).resolve(specifier);
  return (await import(pathToFileURL(resolved).href)) as T;
}

// The peers' own types live outside the workspaces; these are the few members the bench uses.
interface LangGraphModule {
  Annotation: { Root(spec: Record<string, unknown>): unknown } & (<T>(options?: { reducer: (left: T, right: T) => T; default: () => T }) => unknown);
  StateGraph: new (state: unknown) => LangGraphBuilder;
  START: string;
  END: string;
}
interface LangGraphBuilder {
  addNode(id: string, run: (state: unknown) => Promise<Record<string, unknown>>): LangGraphBuilder;
  addEdge(from: string | string[], to: string): LangGraphBuilder;
  compile(): { invoke(input: Record<string, unknown>, options?: Record<string, unknown>): Promise<{ done: string[] }> };
}

/** LangGraph.js: a StateGraph whose nodes make the A2A call; each node joins on its whole previous layer. */
export async function langGraphRunner(client: Client): Promise<DagRunner> {
  const { Annotation, StateGraph, START, END } = await importPeer<LangGraphModule>('@langchain/langgraph');
  const State = Annotation.Root({ done: Annotation<string[]>({ reducer: (left, right) => left.concat(right), default: () => [] }) });
  const graphs = new Map<string, ReturnType<LangGraphBuilder['compile']>>();
  // Graphs are built once per shape (as an application would); each run collects its calls here.
  let nodes = new Map<string, NodeTimes>();
  const graphFor = ({ layers, width }: LayeredDag) => {
    const key = `${layers}x${width}`;
    let graph = graphs.get(key);
    if (graph === undefined) {
      const builder = new StateGraph(State);
      for (let layer = 0; layer < layers; layer += 1) {
        for (const id of layerIds(width, layer)) {
          builder.addNode(id, async () => {
            await callNode(client, id, nodes);
            return { done: [id] };
          });
        }
      }
      for (let layer = 0; layer < layers; layer += 1) {
        for (const id of layerIds(width, layer)) builder.addEdge(layer === 0 ? START : layerIds(width, layer - 1), id);
      }
      for (const id of layerIds(width, layers - 1)) builder.addEdge(id, END);
      graph = builder.compile();
      graphs.set(key, graph);
    }
    return graph;
  };
  return async (dag) => {
    const graph = graphFor(dag);
    nodes = new Map();
    const started = performance.now();
    const result = await graph.invoke({}, { recursionLimit: dag.layers + 5 });
    const wall = performance.now() - started;
    if (result.done.length !== dag.layers * dag.width) throw new Error(`LangGraph ran ${result.done.length} of ${dag.layers * dag.width} nodes`);
    return { wall, nodes };
  };
}

interface MastraWorkflowsModule {
  createStep(options: { id: string; inputSchema: unknown; outputSchema: unknown; execute: () => Promise<unknown> }): unknown;
  createWorkflow(options: { id: string; inputSchema: unknown; outputSchema: unknown }): MastraWorkflow;
}
interface MastraWorkflow {
  parallel(steps: unknown[]): MastraWorkflow;
  commit(): MastraWorkflow;
  createRun(): Promise<{ start(options: { inputData: unknown }): Promise<{ status: string; error?: unknown }> }>;
}
interface ZodModule {
  z: { any(): unknown; object(shape: Record<string, unknown>): unknown; string(): unknown };
}

/** Mastra workflows: one `.parallel()` of steps per layer, the steps making the A2A call. */
export async function mastraRunner(client: Client): Promise<DagRunner> {
  const { createStep, createWorkflow } = await importPeer<MastraWorkflowsModule>('@mastra/core/workflows');
  const { z } = await importPeer<ZodModule>('zod');
  const workflows = new Map<string, MastraWorkflow>();
  // Workflows are built once per shape (as an application would); each run collects its calls here.
  let nodes = new Map<string, NodeTimes>();
  const workflowFor = ({ layers, width }: LayeredDag) => {
    const key = `${layers}x${width}`;
    let workflow = workflows.get(key);
    if (workflow === undefined) {
      workflow = createWorkflow({ id: `dag-${key}`, inputSchema: z.any(), outputSchema: z.any() });
      for (let layer = 0; layer < layers; layer += 1) {
        workflow = workflow.parallel(
          layerIds(width, layer).map((id) =>
            createStep({
              id,
              inputSchema: z.any(),
              outputSchema: z.object({ id: z.string() }),
              execute: async () => {
                await callNode(client, id, nodes);
                return { id };
              },
            }),
          ),
        );
      }
      workflow = workflow.commit();
      workflows.set(key, workflow);
    }
    return workflow;
  };
  return async (dag) => {
    const workflow = workflowFor(dag);
    const run = await workflow.createRun();
    nodes = new Map();
    const started = performance.now();
    const result = await run.start({ inputData: {} });
    const wall = performance.now() - started;
    if (result.status !== 'success') throw new Error(`Mastra workflow ended ${result.status}: ${String(result.error)}`);
    return { wall, nodes };
  };
}
