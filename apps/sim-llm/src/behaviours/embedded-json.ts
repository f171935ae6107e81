/**
 * Parses the first JSON object or array that starts at or after `from` in free text (a prompt that
 * embeds JSON among prose): a balanced scan that respects strings, then `JSON.parse` of exactly that span.
 * `undefined` when there is none or it does not parse.
 */
export function readEmbeddedJson(text: string, from = 0): unknown {
  const start = text.slice(from).search(/[[{]/);
  if (start === -1) return undefined;
  const begin = from + start;
  let depth = 0;
  let inString = false;
  for (let index = begin; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') depth += 1;
    else if (char === '}' || char === ']') {
      depth -= 1;
      if (depth === 0) {
        try {
          return JSON.parse(text.slice(begin, index + 1)) as unknown;
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}
