import { type SimBehaviour, fallbackBehaviours } from './behaviours/index.js';
import type { ScriptRegistry } from './scripts.js';
import type { SimDefaults, SimReply } from './sim-reply.js';
import type { SimRequest } from './sim-request.js';

export interface ResolvedReply {
  reply: SimReply;
  /** `sim`, `script:<id>`, `behaviour:<name>` or `fallback:<name>`. */
  source: string;
}

/** A reply decides the outcome when it says what to answer; the other fields only shape timing and faults. */
function hasOutcome(reply: SimReply | undefined): reply is SimReply {
  return reply !== undefined && (reply.content !== undefined || reply.json !== undefined || reply.toolCalls !== undefined || reply.error !== undefined);
}

const MODIFIERS = ['ttftMs', 'tokensPerSecond', 'delayMs', 'cutAfterChunks', 'hang'] as const;

/**
 * Layers, highest first: the request's own `sim` field, the newest matching script, the first matching
 * behaviour, the generic fallbacks. The outcome (content / json / tool calls / error) comes whole from
 * the highest layer that has one; timing and fault fields are taken field by field from the highest
 * layer that sets them, then from the defaults. Lower layers are only consulted when needed, so a
 * script's `times` is not used up by a request whose `sim` field already decides.
 */
export function resolveReply(
  request: SimRequest,
  sim: SimReply | undefined,
  scripts: ScriptRegistry,
  behaviours: readonly SimBehaviour[],
  defaults: SimDefaults,
): ResolvedReply {
  const layers: SimReply[] = [];
  let outcome: SimReply | undefined;
  let source = 'sim';
  if (sim !== undefined) layers.push(sim);
  if (hasOutcome(sim)) outcome = sim;

  if (outcome === undefined) {
    const script = scripts.take(request);
    if (script !== undefined) {
      layers.push(script.reply);
      if (hasOutcome(script.reply)) [outcome, source] = [script.reply, `script:${script.id}`];
    }
  }
  if (outcome === undefined) {
    const behaviour = behaviours.find((candidate) => candidate.matches(request));
    const fallback = behaviour === undefined ? fallbackBehaviours.find((candidate) => candidate.matches(request)) : undefined;
    const chosen = behaviour ?? fallback;
    if (chosen !== undefined) {
      const reply = chosen.reply(request);
      layers.push(reply);
      outcome = reply;
      source = `${behaviour === undefined ? 'fallback' : 'behaviour'}:${chosen.name}`;
    }
  }

  const reply: SimReply = {};
  if (outcome !== undefined) {
    if (outcome.content !== undefined) reply.content = outcome.content;
    if (outcome.json !== undefined) reply.json = outcome.json;
    if (outcome.toolCalls !== undefined) reply.toolCalls = outcome.toolCalls;
    if (outcome.error !== undefined) reply.error = outcome.error;
  }
  for (const field of MODIFIERS) {
    const layer = layers.find((candidate) => candidate[field] !== undefined);
    if (layer !== undefined) Object.assign(reply, { [field]: layer[field] });
  }
  reply.ttftMs ??= defaults.ttftMs;
  reply.tokensPerSecond ??= defaults.tokensPerSecond;
  return { reply, source };
}
