import type { Part } from '@a2a-js/sdk';

/**
 * The text an OpenAI client should see for A2A parts, concatenated in order:
 * - text parts as-is;
 * - data parts as compact JSON (an OpenAI message can only carry text);
 * - url parts as a Markdown link named after the file (or the bare URL);
 * - raw (inline binary) parts are not inlined: a bracketed note names the file and media type instead,
 *   so the client knows something was produced without receiving base64 noise.
 */
export function partsToText(parts: readonly Part[]): string {
  let text = '';
  for (const part of parts) text += partText(part);
  return text;
}

function partText(part: Part): string {
  const content = part.content;
  if (content === undefined) return '';
  switch (content.$case) {
    case 'text':
      return content.value;
    case 'data':
      return JSON.stringify(content.value) ?? '';
    case 'url':
      return part.filename === '' ? content.value : `[${part.filename}](${content.value})`;
    case 'raw':
      return `[file ${part.filename === '' ? '(unnamed)' : part.filename}${part.mediaType === '' ? '' : ` (${part.mediaType})`} not shown]`;
  }
}

/** Text of the text parts only (what a human wrote or an agent said), ignoring data/files. */
export function plainText(parts: readonly Part[] | undefined): string {
  if (parts === undefined) return '';
  return parts
    .map((part) => (part.content?.$case === 'text' ? part.content.value : ''))
    .filter((text) => text.length > 0)
    .join('\n');
}
