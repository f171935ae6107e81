import type { SimRequest } from '../sim-request.js';
import type { SimBehaviour } from './types.js';

/** The section a synthesis prompt lists its agent results under, one `### node (agent): description` each. */
const RESULTS_HEADING = /\nAgent results:\n/;
const RESULT_HEADER = /^### (\S+) \(([^)]+)\): (.*)$/;
const SUMMARY_CHARS = 280;

export interface AgentResultSection {
  node: string;
  agent: string;
  description: string;
  body: string;
}

/** The `### node (agent): description` sections after `Agent results:`, in prompt order. */
export function parseAgentResults(text: string): AgentResultSection[] {
  const start = text.search(RESULTS_HEADING);
  if (start < 0) return [];
  const sections: AgentResultSection[] = [];
  let current: AgentResultSection | undefined;
  for (const line of text.slice(start).split('\n').slice(2)) {
    const header = RESULT_HEADER.exec(line);
    if (header !== null) {
      current = { node: header[1] ?? '', agent: header[2] ?? '', description: header[3] ?? '', body: '' };
      sections.push(current);
    } else if (current !== undefined) {
      current.body = current.body === '' ? line : `${current.body}\n${line}`;
    }
  }
  return sections.map((section) => ({ ...section, body: section.body.trim() }));
}

/**
 * The final step of an orchestrated workflow, offline: instead of echoing the prompt, sim-llm assembles
 * an answer from the agents' results (first sentences of each, failures and skips said plainly), and says
 * that it did so mechanically. A real model writes prose from the same prompt.
 */
export const workflowSynthesis: SimBehaviour = {
  name: 'workflow-synthesis',
  matches: (request: SimRequest) =>
    request.responseFormat === 'text' && request.tools.length === 0 && parseAgentResults(request.lastUserText).length > 0,
  reply: (request: SimRequest) => {
    const sections = parseAgentResults(request.lastUserText);
    const lines = sections.map((section) => `- **${section.description}** (${section.agent}): ${summarize(section.body)}`);
    return {
      content: [
        `[sim-llm] Combined answer from ${sections.length} agent result${sections.length === 1 ? '' : 's'}:`,
        '',
        ...lines,
        '',
        'sim-llm assembled this summary mechanically from the results above; a language model would write the answer from them.',
      ].join('\n'),
    };
  },
};

function summarize(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(no output)';
  const sentences = flat.match(/[^.!?]+[.!?]+(?:\s|$)/g) ?? [flat];
  let summary = '';
  for (const sentence of sentences) {
    if (summary.length + sentence.length > SUMMARY_CHARS && summary !== '') break;
    summary += sentence;
  }
  summary = summary.trim();
  return summary.length > SUMMARY_CHARS ? `${summary.slice(0, SUMMARY_CHARS - 1)}…` : summary;
}
