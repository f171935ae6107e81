import { setTimeout as sleep } from 'node:timers/promises';

import type { AgentRun } from '@ensemble/a2a/server';
import { ErrorCode } from '@ensemble/protocol';

import type { MockAgentBehaviour } from './config.js';

export interface MockAgentDeps {
  /** Ends the process abruptly (the `crash` failure mode); tests pass a fake. */
  crash(exitCode: number): void;
}

/** Placeholder values: `input`, `agent`, `call`, and whatever `parse` or an approval adds. */
type TemplateValues = Readonly<Record<string, string | number>>;

/** Replaces each `{{name}}` that has a value; unknown placeholders stay as they are. */
export function fillTemplate(template: string, values: TemplateValues): string {
  return template.replace(/\{\{\s*([A-Za-z_]\w*)\s*\}\}/g, (match, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : match));
}

/** The named groups of `parse.pattern` in `text` (lower-cased), over the configured defaults. */
export function parseRequest(parse: MockAgentBehaviour['parse'], text: string): Record<string, string> {
  if (parse === undefined) return {};
  const groups = new RegExp(parse.pattern, 'i').exec(text)?.groups ?? {};
  const found = Object.entries(groups).flatMap(([name, value]) => (value === undefined ? [] : [[name, value.toLowerCase()] as const]));
  return { ...parse.defaults, ...Object.fromEntries(found) };
}

/** The approver's arguments that can stand in for placeholders (strings, numbers and booleans). */
function scalarArguments(args: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(args ?? {}).flatMap(([name, value]) => (['string', 'number', 'boolean'].includes(typeof value) ? [[name, String(value)]] : [])));
}

function fillDeep(value: unknown, values: TemplateValues): unknown {
  if (typeof value === 'string') return fillTemplate(value, values);
  if (Array.isArray(value)) return value.map((item) => fillDeep(item, values));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fillDeep(item, values)]));
  }
  return value;
}

/** Splits a reply into `count` word-aligned chunks that concatenate back to the reply. */
export function splitIntoChunks(text: string, count: number): string[] {
  const words = text.split(/(?<=\s)/);
  const pieces = Math.max(1, Math.min(count, words.length));
  const chunks: string[] = [];
  for (let index = 0; index < pieces; index += 1) {
    const start = Math.floor((index * words.length) / pieces);
    const end = Math.floor(((index + 1) * words.length) / pieces);
    chunks.push(words.slice(start, end).join(''));
  }
  return chunks;
}

/** Wall-clock time in ms with sub-millisecond precision (comparable across processes on one machine). */
function epochMs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/**
 * The logic of a mock agent: optional approval gate, progress status updates, the configured failure,
 * then the templated reply streamed in chunks and an optional data artifact. Calls are counted per
 * process (new tasks only; an approval resume is the same call).
 */
export function createMockAgentRun(behaviour: MockAgentBehaviour, deps: MockAgentDeps): AgentRun {
  let calls = 0;
  return async function* run(input, ctx) {
    // When the kit handed the request to the run (read, parsed, its task created).
    const receivedAt = epochMs();
    if (ctx.task === undefined) {
      calls += 1;
      // One line per execution of a new task: how `npm run chaos` counts agent work run twice.
      ctx.logger.info({ call: calls, input: input.text.slice(0, 200) }, 'mock task started');
    }
    let values: TemplateValues = { ...parseRequest(behaviour.parse, input.text), input: input.text, agent: behaviour.name, call: calls };
    const failure = behaviour.failure;

    // Approval comes first: on resume `run` starts again from the top (see AgentContext.requireApproval).
    if (failure.mode === 'approval') {
      const answer = await ctx.requireApproval({
        summary: fillTemplate(failure.summary, values),
        details: { agent: behaviour.name, request: input.text, ...(fillDeep(failure.details ?? {}, values) as Record<string, unknown>) },
      });
      const comment = answer.comment === undefined ? '' : `: ${answer.comment}`;
      if (answer.decision === 'reject') {
        const reason = `Rejected by the approver${comment}`;
        if (failure.onReject === 'rejected') ctx.reject(reason);
        ctx.fail(reason, ErrorCode.Forbidden);
      }
      // What the approver approved (possibly edited) is what the agent acts on.
      values = { ...values, ...scalarArguments(answer.arguments) };
      ctx.logger.info({ arguments: answer.arguments ?? null, decision: answer.decision }, 'acting on the approved arguments');
      ctx.status(`Approved${comment}; continuing`);
    }

    for (const text of behaviour.statusUpdates) ctx.status(fillTemplate(text, values));

    switch (failure.mode) {
      case 'always':
        ctx.fail(fillTemplate(failure.message, values), ErrorCode.UpstreamError);
        break;
      case 'first-n':
        if (calls <= failure.count) ctx.fail(`${fillTemplate(failure.message, values)} (call ${calls} of the first ${failure.count})`, ErrorCode.UpstreamError);
        break;
      case 'hang':
        ctx.status('Working (this mock never finishes on its own)');
        await untilAborted(ctx.signal);
        break;
      case 'crash':
        ctx.status('About to crash (mock failure mode)');
        // The status reaches the client's stream before the process dies.
        await ctx.processed();
        deps.crash(failure.exitCode);
        break;
      case 'none':
      case 'approval':
        break;
    }

    const workStartedAt = epochMs();
    if (behaviour.delayMs > 0) await sleep(behaviour.delayMs, undefined, { signal: ctx.signal });
    const workDoneAt = epochMs();
    const chunks = splitIntoChunks(fillTemplate(behaviour.reply, values), behaviour.chunks);
    for (const [index, chunk] of chunks.entries()) {
      if (index > 0 && behaviour.chunkDelayMs > 0) await sleep(behaviour.chunkDelayMs, undefined, { signal: ctx.signal });
      yield chunk;
    }
    if (behaviour.data !== undefined) ctx.dataArtifact(fillDeep(behaviour.data, values) as Record<string, unknown>, { name: 'result' });
    // When the request came in and the work itself (the configured delay) began and ended, to the
    // microsecond: `npm run bench:dag` splits a layer's time around them (see its `layerPhases`).
    ctx.logger.info({ input: input.text.slice(0, 200), received_at: receivedAt, work_started_at: workStartedAt, work_done_at: workDoneAt }, 'mock work done');
  };
}
