import { createAgentService } from '@ensemble/a2a/server';
import { quietLogger } from '@ensemble/workflow/testing/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bareRunner, layerIds, layerPhases, layerTimeline, officialClient } from '../../bench/dag-peers.js';

describe('bench:dag layer timeline', () => {
  it('splits a run into per-layer spans over the agent time and handoffs between layers', () => {
    // Layer 0: n0-0 10->115, n0-1 10->120. Layer 1 starts 2 ms after the last of layer 0 finished.
    const starts = new Map([
      ['n0-0', 10],
      ['n0-1', 10],
      ['n1-0', 122],
      ['n1-1', 123],
    ]);
    const completions = new Map([
      ['n0-0', 115],
      ['n0-1', 120],
      ['n1-0', 230],
      ['n1-1', 226],
    ]);
    expect(layerTimeline(starts, completions, 100)).toEqual({ layerSpans: [10, 8], handoffs: [2] });
  });

  it('splits each layer around the agent’s own work: on the way to it, its intake until it began the last node, after it finished the last one', () => {
    const starts = new Map([
      ['n0-0', 10],
      ['n0-1', 11],
      ['n1-0', 125],
      ['n1-1', 125],
    ]);
    const completions = new Map([
      ['n0-0', 118],
      ['n0-1', 122],
      ['n1-0', 231],
      ['n1-1', 229],
    ]);
    // Layer 0: the agent took in its first request 2 ms after n0-0 was sent (at 12), began n0-1 last (at
    // 16: 4 ms of intake) and finished it last (at 116: the layer was done 6 ms later). In layer 1 the
    // last to begin (n1-1) is not the last to finish (n1-0).
    const work = new Map([
      ['n0-0', { received: 12, started: 13, done: 113 }],
      ['n0-1', { received: 15, started: 16, done: 116 }],
      ['n1-0', { received: 126, started: 127, done: 228 }],
      ['n1-1', { received: 126.5, started: 128, done: 227 }],
    ]);
    expect(layerPhases(starts, completions, work)).toEqual({ toAgent: [2, 1], intake: [4, 2], after: [6, 3] });
    // A layer whose agent times are missing is left out rather than guessed.
    work.delete('n1-0');
    expect(layerPhases(starts, completions, work)).toEqual({ toAgent: [2], intake: [4], after: [6] });
  });

  it('names nodes layer by layer', () => {
    expect(layerIds(3, 2)).toEqual(['n2-0', 'n2-1', 'n2-2']);
  });
});

describe('bench:dag bare floor (official A2A client)', () => {
  const inputs: string[] = [];
  const service = createAgentService({
    card: { name: 'bench-worker', description: 'Answers at once', skills: [{ id: 'work', name: 'work', description: 'work', tags: ['test'], examples: [] }] },
    logger: quietLogger(),
    executor: (input) => {
      inputs.push(input.text);
      return Promise.resolve(`ok ${input.text}`);
    },
  });
  let url = '';
  beforeAll(async () => {
    url = (await service.start({ host: '127.0.0.1', port: 0 })).url;
  });
  afterAll(() => service.stop(1_000));

  it('calls every node of every layer once, a layer only after the previous one', async () => {
    const run = bareRunner(await officialClient(url));
    const timing = await run({ layers: 3, width: 2 });
    expect(timing.nodes.size).toBe(6);
    for (const times of timing.nodes.values()) expect(times.done).toBeGreaterThanOrEqual(times.sent);
    expect(timing.wall).toBeGreaterThan(0);
    expect(inputs.slice(0, 2).sort()).toEqual(['work n0-0', 'work n0-1']);
    expect(inputs.slice(2, 4).sort()).toEqual(['work n1-0', 'work n1-1']);
    expect(inputs.slice(4).sort()).toEqual(['work n2-0', 'work n2-1']);
  });
});
