/** OpenAI function names: `^[a-zA-Z0-9_-]{1,64}$`. */
const MAX_NAME = 64;

function sanitize(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_NAME);
  return cleaned === '' ? 'tool' : cleaned;
}

export interface NamedTool {
  server: string;
  serverToolName: string;
}

/**
 * Assigns every tool a unique name a model can call. A tool keeps its own name when no other server
 * offers one with the same name; colliding tools become `<server>__<tool>`. Names are sanitized to
 * OpenAI's charset and length, and any remaining clash gets a numeric suffix. Deterministic for a given
 * input order (config order, then the server's listing order), so names are stable across refreshes
 * unless the set of tools itself changes.
 */
export function assignToolNames<T extends NamedTool>(tools: readonly T[]): Array<T & { name: string }> {
  const counts = new Map<string, number>();
  for (const tool of tools) counts.set(tool.serverToolName, (counts.get(tool.serverToolName) ?? 0) + 1);
  const taken = new Set<string>();
  return tools.map((tool) => {
    const collides = (counts.get(tool.serverToolName) ?? 0) > 1;
    const base = sanitize(collides ? `${tool.server}__${tool.serverToolName}` : tool.serverToolName);
    let name = base;
    for (let suffix = 2; taken.has(name); suffix += 1) {
      const tail = `_${suffix}`;
      name = `${base.slice(0, MAX_NAME - tail.length)}${tail}`;
    }
    taken.add(name);
    return { ...tool, name };
  });
}
