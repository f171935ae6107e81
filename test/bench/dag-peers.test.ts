import { createAgentService } from '@ensemble/a2a/server';
import { quietLogger } from '@ensemble/workflow/testing/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bareRunner, layerIds, layerTimeline, officialClient } from '../../bench/dag-peers.js';

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
    expect(timing.calls).toHaveLength(6);
    expect(timing.wall).toBeGreaterThan(0);
    expect(inputs.slice(0, 2).sort()).toEqual(['work n0-0', 'work n0-1']);
    expect(inputs.slice(2, 4).sort()).toEqual(['work n1-0', 'work n1-1']);
    expect(inputs.slice(4).sort()).toEqual(['work n2-0', 'work n2-1']);
  });
});
