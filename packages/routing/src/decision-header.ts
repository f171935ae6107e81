import { RoutingDecision } from '@ensemble/protocol';

const MAX_REASON_CHARS = 200;

/**
 * Renders a decision for the `X-Routing-Decision` response header as an RFC 8941 structured-field item
 * with parameters, e.g. `passthrough; source=classifier; cached; reason="a simple factual question"`.
 * Chosen over JSON because it is readable in `curl -i` and parseable with any structured-field library.
 * Header values must be printable ASCII: other characters in the reason become `?`, and the reason is
 * cut at 200 characters (the full one is in the logs and on the trace).
 */
export function formatRoutingDecisionHeader(decision: RoutingDecision): string {
  let reason = decision.reason.replace(/[^\x20-\x7e]/g, '?');
  if (reason.length > MAX_REASON_CHARS) reason = `${reason.slice(0, MAX_REASON_CHARS - 3)}...`;
  const quoted = reason.replace(/[\\"]/g, (char) => `\\${char}`);
  return `${decision.path}; source=${decision.source}${decision.cached === true ? '; cached' : ''}; reason="${quoted}"`;
}

const ITEM = /^\s*([a-z]+)((?:\s*;\s*[a-z_]+(?:=(?:[a-z_]+|"(?:[^"\\]|\\.)*"))?)*)\s*$/;
const PARAM = /;\s*([a-z_]+)(?:=([a-z_]+|"(?:[^"\\]|\\.)*"))?/g;

/** Reads an `X-Routing-Decision` header back (for clients and tests); `undefined` if it is not one. */
export function parseRoutingDecisionHeader(value: string): RoutingDecision | undefined {
  const match = ITEM.exec(value);
  if (match === null) return undefined;
  const params = new Map<string, string | true>();
  for (const param of (match[2] ?? '').matchAll(PARAM)) {
    const raw = param[2];
    params.set(param[1] ?? '', raw === undefined ? true : raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw);
  }
  const parsed = RoutingDecision.safeParse({
    path: match[1],
    source: params.get('source'),
    reason: params.get('reason'),
    ...(params.get('cached') === true ? { cached: true } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}
