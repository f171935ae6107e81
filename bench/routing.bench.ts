/**
 * `npm run bench:routing`: the local first-stage routing classifier on the held-out split of
 * `data/routing/prompts.jsonl` (never used for training). Reports the share of requests it decides
 * alone, precision and recall of "orchestration" among those, accuracy, and the latency per decision
 * (p50/p99, in-process, one request's last user message each), with PASS/FAIL against the target of
 * "well under 1 ms": at most 0.1 ms p50. Also the same at other thresholds (for choosing one), the
 * router's whole `route()` for locally decided requests (an LLM classifier fake counts the calls it
 * still gets), and the cost of a 100 kB prompt (the features read only its head and tail).
 *
 * Env: BENCH_ROUTING_THRESHOLD (default 0.9, the gateway's default), BENCH_ROUTING_ROUNDS (default 300).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { ChatMessage, ClassifierVerdict } from '@ensemble/protocol';
import { type RoutingClassifier, createLocalRoutingClassifier, createRouter, parseRoutingExamples } from '@ensemble/routing';

const THRESHOLD = Number(process.env['BENCH_ROUTING_THRESHOLD'] ?? 0.9);
const ROUNDS = Number(process.env['BENCH_ROUTING_ROUNDS'] ?? 300);
const TARGET_P50_MS = 0.1;

const examples = parseRoutingExamples(readFileSync(fileURLToPath(new URL('../data/routing/prompts.jsonl', import.meta.url)), 'utf8'));
const heldOut = examples.filter((example) => example.split === 'test');
const conversations: ChatMessage[][] = heldOut.map((example) => [{ role: 'user', content: example.text }]);

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function quality(threshold: number) {
  const local = createLocalRoutingClassifier({ threshold });
  let decided = 0;
  let correct = 0;
  let truePositive = 0;
  let falsePositive = 0;
  let falseNegative = 0;
  let orchestrationDecided = 0;
  const mistakes: string[] = [];
  heldOut.forEach((example, index) => {
    const verdict = local.classify(conversations[index]!);
    if (verdict.path === undefined) return;
    decided += 1;
    const predicted = verdict.path === 'orchestration';
    const actual = example.label === 'orchestration';
    if (actual) orchestrationDecided += 1;
    if (predicted === actual) correct += 1;
    else mistakes.push(`${example.id} (${example.label}, said ${verdict.path} at ${verdict.confidence?.toFixed(2)}): ${example.text.slice(0, 90).replaceAll('\n', ' ')}`);
    if (predicted && actual) truePositive += 1;
    if (predicted && !actual) falsePositive += 1;
    if (!predicted && actual) falseNegative += 1;
  });
  const round = (value: number) => Number(value.toFixed(3));
  const orchestrationTotal = heldOut.filter((example) => example.label === 'orchestration').length;
  return {
    threshold,
    decidedShare: round(decided / heldOut.length),
    accuracy: round(correct / decided),
    orchestrationPrecision: round(truePositive / (truePositive + falsePositive)),
    orchestrationRecall: round(truePositive / (truePositive + falseNegative)),
    /** Orchestration prompts sent to the orchestrator without an LLM call, of all orchestration prompts. */
    orchestrationCaughtLocally: round(truePositive / orchestrationTotal),
    decided,
    orchestrationDecided,
    mistakes,
  };
}

/** Latency of `classify` per call, in ms, over every held-out prompt `ROUNDS` times (after a warm-up). */
function latency(threshold: number, inputs: ChatMessage[][], rounds: number) {
  const local = createLocalRoutingClassifier({ threshold });
  for (let round = 0; round < 20; round += 1) for (const messages of inputs) local.classify(messages);
  const samples = new Float64Array(rounds * inputs.length);
  let next = 0;
  for (let round = 0; round < rounds; round += 1) {
    for (const messages of inputs) {
      const begin = process.hrtime.bigint();
      local.classify(messages);
      samples[next++] = Number(process.hrtime.bigint() - begin) / 1e6;
    }
  }
  samples.sort();
  return { calls: samples.length, p50Ms: Number(percentile(samples, 0.5).toFixed(4)), p99Ms: Number(percentile(samples, 0.99).toFixed(4)), maxMs: Number(samples.at(-1)!.toFixed(3)) };
}

/** The router end to end for the held-out prompts, with an LLM classifier fake that counts its calls. */
async function routerPass(threshold: number) {
  let llmCalls = 0;
  const classifier: RoutingClassifier = {
    classify: async (): Promise<ClassifierVerdict> => {
      llmCalls += 1;
      return { needs_orchestration: false, reason: 'fake' };
    },
  };
  const router = createRouter({ local: createLocalRoutingClassifier({ threshold }), classifier, classifierTimeoutMs: 1_000, cache: false });
  const samples: number[] = [];
  for (let round = 0; round < 20; round += 1) {
    for (const messages of conversations) {
      const begin = process.hrtime.bigint();
      const decision = await router.route({ request: { model: 'm', messages }, header: () => undefined });
      if (decision.source === 'local') samples.push(Number(process.hrtime.bigint() - begin) / 1e6);
    }
  }
  const sorted = Float64Array.from(samples).sort();
  return { llmCallsPerPass: llmCalls / 20, localP50Ms: Number(percentile(sorted, 0.5).toFixed(4)), localP99Ms: Number(percentile(sorted, 0.99).toFixed(4)) };
}

const main = quality(THRESHOLD);
const timing = latency(THRESHOLD, conversations, ROUNDS);
const huge = 'Summarize this report:\n\n' + 'The committee met and discussed the budget, the roadmap and the hiring plan. '.repeat(1_400);
const hugeTiming = latency(THRESHOLD, [[{ role: 'user', content: huge }]], 200);
const routed = await routerPass(THRESHOLD);
const others = [0.8, 0.85, 0.9, 0.95].map((threshold) => quality(threshold));

console.log(`local routing classifier, held-out split: ${heldOut.length} prompts (${heldOut.filter((example) => example.label === 'orchestration').length} orchestration), threshold ${THRESHOLD}`);
console.table(others.map(({ mistakes: _mistakes, ...row }) => row));
console.log(`decided locally: ${(main.decidedShare * 100).toFixed(1)}% (${main.decided}/${heldOut.length}); among those: accuracy ${main.accuracy}, orchestration precision ${main.orchestrationPrecision}, recall ${main.orchestrationRecall}`);
if (main.mistakes.length > 0) console.log(`mistakes at ${THRESHOLD}:\n  ${main.mistakes.join('\n  ')}`);
console.log(`latency per decision: p50 ${timing.p50Ms} ms, p99 ${timing.p99Ms} ms (${timing.calls} calls); a ${Math.round(huge.length / 1000)} kB prompt: p50 ${hugeTiming.p50Ms} ms`);
console.log(`through the router: ${routed.llmCallsPerPass} LLM classifier calls for ${heldOut.length} requests; local decisions p50 ${routed.localP50Ms} ms, p99 ${routed.localP99Ms} ms`);
const pass = timing.p50Ms <= TARGET_P50_MS;
console.log(`${pass ? 'PASS' : 'FAIL'}: p50 ${timing.p50Ms} ms against the target of at most ${TARGET_P50_MS} ms ("well under 1 ms")`);
console.log(
  JSON.stringify({
    bench: 'routing',
    heldOut: heldOut.length,
    threshold: THRESHOLD,
    quality: others.map(({ mistakes: _mistakes, ...row }) => row),
    latency: timing,
    hugePromptLatency: hugeTiming,
    router: routed,
    target: { p50Ms: TARGET_P50_MS, met: pass },
  }),
);
if (!pass) process.exitCode = 1;
