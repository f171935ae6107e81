import type { SimReply } from '../sim-reply.js';
import type { SimRequest } from '../sim-request.js';

/**
 * A default reply sim-llm gives when no script and no per-request `sim` override decides. Behaviours are
 * tried in registry order (`behaviours/index.ts`), first match wins, then the generic fallbacks.
 * Both functions must be pure and deterministic: same request, same reply.
 */
export interface SimBehaviour {
  /** Shown in the request log as `behaviour:<name>`. */
  readonly name: string;
  matches(request: SimRequest): boolean;
  /** The reply: usually `content`, `json` or `toolCalls`; may also set latency fields. */
  reply(request: SimRequest): SimReply;
}
