import type { Block, LoadedDocument, Section } from '../types.js';

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Markdown (CommonMark enough for documentation): ATX and setext headings open sections; blank lines
 * separate blocks; fenced code stays one block and its `#` lines are not headings; YAML front matter is
 * skipped (its `title:` is used). Offsets are into the original text.
 */
export function loadMarkdown(text: string, fallbackTitle: string): LoadedDocument {
  const lines = splitLines(text);
  const sections: Section[] = [];
  let current: Section = { headingPath: [], blocks: [] };
  const levels: string[] = [];
  let title: string | undefined;
  let paragraph: { start: number; end: number; lines: string[] } | undefined;
  let index = 0;

  const flush = () => {
    if (paragraph !== undefined) {
      current.blocks.push({ text: paragraph.lines.join('\n'), kind: 'paragraph', charStart: paragraph.start, charEnd: paragraph.end });
      paragraph = undefined;
    }
  };
  const openSection = (level: number, heading: string) => {
    flush();
    if (current.blocks.length > 0) sections.push(current);
    levels.length = level - 1;
    levels[level - 1] = heading;
    current = { headingPath: levels.filter((entry) => entry !== undefined && entry.length > 0), blocks: [] };
    if (level === 1 && title === undefined) title = heading;
  };

  // Front matter: only at the very start.
  if (lines[0]?.text === '---') {
    const end = lines.findIndex((line, position) => position > 0 && (line.text === '---' || line.text === '...'));
    if (end > 0) {
      for (const line of lines.slice(1, end)) {
        const match = /^title:\s*["']?(.*?)["']?\s*$/.exec(line.text);
        if (match?.[1]) title = match[1];
      }
      index = end + 1;
    }
  }

  for (; index < lines.length; index += 1) {
    const line = lines[index]!;
    const fence = FENCE.exec(line.text);
    if (fence !== null) {
      flush();
      const marker = fence[1]!;
      let end = index + 1;
      while (end < lines.length && !lines[end]!.text.trimStart().startsWith(marker)) end += 1;
      const last = lines[Math.min(end, lines.length - 1)]!;
      current.blocks.push({ text: text.slice(line.start, last.end), kind: 'code', charStart: line.start, charEnd: last.end });
      index = end;
      continue;
    }
    const atx = ATX_HEADING.exec(line.text);
    if (atx !== null) {
      openSection(atx[1]!.length, (atx[2] ?? '').trim());
      continue;
    }
    const underline = SETEXT_UNDERLINE.exec(line.text);
    if (underline !== null && paragraph !== undefined && paragraph.lines.length === 1) {
      const heading = paragraph.lines[0]!.trim();
      paragraph = undefined;
      openSection(underline[1]!.startsWith('=') ? 1 : 2, heading);
      continue;
    }
    if (line.text.trim().length === 0) {
      flush();
      continue;
    }
    if (paragraph === undefined) paragraph = { start: line.start, end: line.end, lines: [line.text] };
    else {
      paragraph.lines.push(line.text);
      paragraph.end = line.end;
    }
  }
  flush();
  if (current.blocks.length > 0) sections.push(current);
  return { title: title ?? fallbackTitle, format: 'markdown', sections };
}

/** Plain text: paragraphs separated by blank lines, one section. A short first line followed by a blank line is the title. */
export function loadPlainText(text: string, fallbackTitle: string): LoadedDocument {
  const blocks: Block[] = [];
  let paragraph: { start: number; end: number } | undefined;
  for (const line of splitLines(text)) {
    if (line.text.trim().length === 0) {
      if (paragraph !== undefined) blocks.push({ text: text.slice(paragraph.start, paragraph.end), kind: 'paragraph', charStart: paragraph.start, charEnd: paragraph.end });
      paragraph = undefined;
    } else if (paragraph === undefined) paragraph = { start: line.start, end: line.end };
    else paragraph.end = line.end;
  }
  if (paragraph !== undefined) blocks.push({ text: text.slice(paragraph.start, paragraph.end), kind: 'paragraph', charStart: paragraph.start, charEnd: paragraph.end });
  const first = blocks[0];
  const title = first !== undefined && !first.text.includes('\n') && first.text.length <= 100 && blocks.length > 1 ? first.text.trim() : fallbackTitle;
  return { title, format: 'text', sections: blocks.length === 0 ? [] : [{ headingPath: [], blocks }] };
}

interface Line {
  text: string;
  start: number;
  /** Exclusive, before the line break. */
  end: number;
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  const pattern = /\r\n|\n|\r/g;
  let start = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    lines.push({ text: text.slice(start, match.index), start, end: match.index });
    start = match.index + match[0].length;
  }
  if (start < text.length) lines.push({ text: text.slice(start), start, end: text.length });
  return lines;
}
