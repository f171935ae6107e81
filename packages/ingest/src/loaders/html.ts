import { type FormatCallback, convert } from 'html-to-text';

import type { LoadedDocument } from '../types.js';
import { loadMarkdown } from './markdown.js';

/** `<hN>` becomes a Markdown heading line, so the Markdown loader can rebuild the section structure. */
const headingFormatter =
  (level: number): FormatCallback =>
  (element, walk, builder) => {
    builder.openBlock({ leadingLineBreaks: 2 });
    builder.addLiteral(`${'#'.repeat(level)} `);
    walk(element.children, builder);
    builder.closeBlock({ trailingLineBreaks: 2 });
  };

const LEVELS = [1, 2, 3, 4, 5, 6] as const;

const OPTIONS = {
  wordwrap: false as const,
  formatters: Object.fromEntries(LEVELS.map((level) => [`ensembleH${level}`, headingFormatter(level)])),
  selectors: [
    ...LEVELS.map((level) => ({ selector: `h${level}`, format: `ensembleH${level}` })),
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    // Page chrome and non-content: navigation repeats on every page and would drown the real text.
    ...['nav', 'footer', 'script', 'style', 'noscript', 'svg', 'form', 'button'].map((selector) => ({ selector, format: 'skip' })),
  ],
};

/**
 * HTML through `html-to-text` (entities decoded, scripts and navigation dropped), with headings kept as
 * Markdown headings and then split like Markdown. Title: `<title>`, else the first `<h1>`. Offsets are into
 * the converted text, not the HTML.
 */
export function loadHtml(html: string, fallbackTitle: string): LoadedDocument {
  const text = convert(html, OPTIONS);
  const titleMatch = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  const title = titleMatch?.[1] === undefined ? '' : convert(titleMatch[1], { wordwrap: false }).trim();
  const document = loadMarkdown(text, fallbackTitle);
  return { ...document, title: title.length > 0 ? title : document.title, format: 'html' };
}
