import type { ReasoningEvent } from '@ensemble/protocol';

/**
 * Where progress goes as text for chat UIs that show a model's thinking: `reasoning_content`
 * (DeepSeek / vLLM style: Open WebUI, LibreChat, LM Studio), `reasoning` (OpenRouter / Ollama style),
 * or nowhere (`none`: only the structured `reasoning_event`).
 */
export const REASONING_TEXT_FIELDS = ['reasoning_content', 'reasoning', 'none'] as const;
export type ReasoningTextField = (typeof REASONING_TEXT_FIELDS)[number];
export const DEFAULT_REASONING_TEXT_FIELD: ReasoningTextField = 'reasoning_content';

/** Longest detail quoted on one line; the full text stays in the event. */
const DETAIL_CHARS = 160;

/** What happened, per event type; `undefined` where the event's own message says it (a status line). */
const LABELS: Record<ReasoningEvent['type'], string | undefined> = {
  planning: undefined,
  plan_ready: 'plan ready',
  node_started: 'started',
  node_completed: 'done',
  node_failed: 'failed',
  node_retrying: undefined,
  node_skipped: 'skipped',
  replanned: 'plan revised',
  thinking: 'thinking',
  tool_call: 'tool call',
  tool_result: 'tool result',
  status: undefined,
  approval_required: 'needs approval',
  approval_decided: 'approval decided',
  synthesis: undefined,
  error: 'error',
};

/**
 * One short line for a person reading along, ending with a newline so consecutive lines render as
 * lines: `[agent] node: what — detail`, e.g. `[search-agent] web-search: started — Search the web`,
 * `[orchestrator] plan ready (3 steps) — Compare the offers`. Whitespace in the detail is collapsed
 * and long details are cut, so a line never breaks a UI's layout.
 */
export function reasoningLine(event: ReasoningEvent): string {
  const who = `[${event.agent ?? 'ensemble'}]${event.node === undefined ? '' : ` ${event.node}:`}`;
  const detail = oneLine(event.message ?? '');
  let label = LABELS[event.type];
  if (event.type === 'plan_ready') {
    const steps = planSteps(event.metadata);
    if (steps !== undefined) label = `plan ready (${steps} step${steps === 1 ? '' : 's'})`;
  }
  const attempt = event.metadata?.['attempt'];
  if (event.type === 'node_started' && typeof attempt === 'number' && attempt > 1) label = `started (attempt ${attempt})`;
  let text: string;
  if (label === undefined) text = detail === '' ? event.type.replace(/_/g, ' ') : detail;
  else text = detail === '' || detail.toLowerCase() === label ? label : `${label} — ${detail}`;
  return `${who} ${text}\n`;
}

function planSteps(metadata: ReasoningEvent['metadata']): number | undefined {
  const plan = metadata?.['plan'];
  if (typeof plan !== 'object' || plan === null) return undefined;
  const nodes = (plan as { nodes?: unknown }).nodes;
  return Array.isArray(nodes) ? nodes.length : undefined;
}

function oneLine(text: string): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  return collapsed.length <= DETAIL_CHARS ? collapsed : `${collapsed.slice(0, DETAIL_CHARS - 1)}…`;
}
