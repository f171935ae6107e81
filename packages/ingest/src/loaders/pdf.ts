import { extractTextItems, getDocumentProxy, getMeta } from 'unpdf';

import type { Block, LoadedDocument, Section } from '../types.js';

/**
 * PDF text through `unpdf` (PDF.js), one section per page with its page number. PDFs have no paragraphs,
 * only positioned text, so lines are rebuilt from the text items and a vertical gap clearly larger than a
 * line (over 1.8 font sizes) starts a new paragraph. Offsets are into that rebuilt page text. Scanned PDFs
 * (images only) have no text and come back with no sections.
 */
export async function loadPdf(bytes: Uint8Array, fallbackTitle: string): Promise<LoadedDocument> {
  // PDF.js may detach the buffer it is given; pass a copy so the caller's bytes stay usable.
  // verbosity 0: PDF.js would print recovery warnings for damaged files on the console; errors still throw.
  const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  try {
    const { items: pages } = await extractTextItems(pdf);
    const meta = await getMeta(pdf).catch(() => undefined);
    const info = meta?.info as { Title?: unknown } | undefined;
    const metaTitle = typeof info?.Title === 'string' ? info.Title.trim() : '';
    const sections: Section[] = [];
    pages.forEach((items, pageIndex) => {
      const blocks = splitPage(pageText(items));
      if (blocks.length > 0) sections.push({ headingPath: [], page: pageIndex + 1, blocks });
    });
    return { title: metaTitle.length > 0 ? metaTitle : fallbackTitle, format: 'pdf', sections };
  } finally {
    await pdf.destroy();
  }
}

interface TextItem {
  str: string;
  y: number;
  fontSize: number;
  hasEOL: boolean;
}

function pageText(items: readonly TextItem[]): string {
  let text = '';
  let previous: TextItem | undefined;
  for (const item of items) {
    if (previous !== undefined && (previous.hasEOL || Math.abs(previous.y - item.y) > 1)) {
      const gap = Math.abs(previous.y - item.y);
      text = text.trimEnd() + (gap > 1.8 * Math.max(item.fontSize, previous.fontSize, 1) ? '\n\n' : '\n');
    }
    text += item.str;
    previous = item;
  }
  return text;
}

function splitPage(text: string): Block[] {
  const separator = /\n[ \t]*\n+/g;
  const blocks: Block[] = [];
  let start = 0;
  const push = (end: number) => {
    const raw = text.slice(start, end);
    const trimmedStart = start + (raw.length - raw.trimStart().length);
    const content = raw.trim();
    if (content.length > 0) blocks.push({ text: content, kind: 'paragraph', charStart: trimmedStart, charEnd: trimmedStart + content.length });
  };
  for (let match = separator.exec(text); match !== null; match = separator.exec(text)) {
    push(match.index);
    start = match.index + match[0].length;
  }
  push(text.length);
  return blocks;
}
