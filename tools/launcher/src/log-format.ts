/**
 * Formats one line of a service's output for the terminal: `name | time level msg key=value ...`.
 * Services log JSON (pino); anything else is printed as-is.
 */
const COLORS = [36, 32, 35, 33, 34, 96, 92, 95, 93, 94];
const LEVEL_COLORS: Record<string, number> = { error: 31, fatal: 31, warn: 33, info: 32, debug: 90, trace: 90 };
const HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'span_id']);

export function createLinePrefixer(names: readonly string[], useColor: boolean) {
  const width = Math.max(...names.map((name) => name.length));
  const colorOf = new Map(names.map((name, index) => [name, COLORS[index % COLORS.length] ?? 37]));
  const paint = (code: number, text: string) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);
  return (name: string, line: string, format: 'pretty' | 'json'): string => {
    const prefix = paint(colorOf.get(name) ?? 37, `${name.padEnd(width)} |`);
    if (format === 'json' || !line.startsWith('{')) return `${prefix} ${line}`;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return `${prefix} ${line}`;
    }
    const level = typeof record['level'] === 'string' ? record['level'] : 'info';
    const time = typeof record['time'] === 'string' ? record['time'].slice(11, 19) : '';
    const fields = Object.entries(record)
      .filter(([key]) => !HIDDEN_FIELDS.has(key))
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const message = typeof record['msg'] === 'string' ? record['msg'] : '';
    return `${prefix} ${time} ${paint(LEVEL_COLORS[level] ?? 37, level.padEnd(5))} ${message}${fields ? ` ${paint(90, fields)}` : ''}`;
  };
}
