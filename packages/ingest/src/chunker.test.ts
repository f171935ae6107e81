import { describe, expect, it } from 'vitest';

import { chunkDocument } from './chunker.js';
import { loadDocument } from './loaders/index.js';
import { minimalPdf } from './testing/minimal-pdf.js';
import { countTokens } from './tokens.js';

const encode = (text: string) => new TextEncoder().encode(text);

const MARKDOWN = `---
title: "Front matter title"
---
Intro paragraph before any heading.

# Guide

Opening words.

## Install

Run the installer.
\`\`\`sh
# not a heading
npm install
\`\`\`

Setext section
--------------

Body of the setext section.
`;

describe('loaders', () => {
  it('splits Markdown into sections with heading paths and source offsets, code fences intact', async () => {
    const document = await loadDocument(encode(MARKDOWN), 'docs/guide.md', 'markdown');
    expect(document.title).toBe('Front matter title');
    expect(document.sections.map((section) => section.headingPath)).toEqual([[], ['Guide'], ['Guide', 'Install'], ['Guide', 'Setext section']]);
    const install = document.sections[2]!;
    expect(install.blocks.map((block) => block.kind)).toEqual(['paragraph', 'code']);
    expect(install.blocks[1]!.text).toContain('# not a heading');
    for (const section of document.sections) {
      for (const block of section.blocks) expect(MARKDOWN.slice(block.charStart, block.charEnd)).toBe(block.text);
    }
  });

  it('reads HTML without scripts or navigation, keeping headings as sections', async () => {
    const html = `<html><head><title>Agents &amp; Tools</title><style>p{}</style></head><body><nav>Home | Docs</nav>
      <h1>Overview</h1><p>Ensemble <a href="/x">routes</a> requests.</p><h2>Details</h2><p>More&nbsp;text.</p>
      <script>alert(1)</script><footer>(c) site</footer></body></html>`;
    const document = await loadDocument(encode(html), 'page.html', 'html');
    expect(document.title).toBe('Agents & Tools');
    expect(document.sections.map((section) => [section.headingPath, section.blocks.map((block) => block.text)])).toEqual([
      [['Overview'], ['Ensemble routes requests.']],
      [['Overview', 'Details'], ['More\u00a0text.']],
    ]);
  });

  it('reads PDF pages, title and paragraph breaks', async () => {
    const pdf = minimalPdf('Protocol notes', [['First page first paragraph.', 'First page second paragraph.'], ['Second page.']]);
    const document = await loadDocument(pdf, 'notes.pdf', 'pdf');
    expect(document.title).toBe('Protocol notes');
    expect(document.sections.map((section) => [section.page, section.blocks.map((block) => block.text)])).toEqual([
      [1, ['First page first paragraph.', 'First page second paragraph.']],
      [2, ['Second page.']],
    ]);
  });

  it('uses a short first line as a plain text title and refuses binary or broken input', async () => {
    const document = await loadDocument(encode('Release notes\n\nFirst change.\nStill first.\n\nSecond change.'), 'notes.txt', 'text');
    expect(document.title).toBe('Release notes');
    expect(document.sections[0]!.blocks.map((block) => block.text)).toEqual(['Release notes', 'First change.\nStill first.', 'Second change.']);
    await expect(loadDocument(new Uint8Array([0xff, 0xfe, 0x00, 0x41]), 'bad.txt', 'text')).rejects.toThrow(/UTF-8/);
    await expect(loadDocument(encode('a\u0000b'), 'bin.md', 'markdown')).rejects.toThrow(/binary/);
    await expect(loadDocument(encode('%PDF-1.4 garbage'), 'broken.pdf', 'pdf')).rejects.toThrow(/not a readable PDF/);
  });
});

describe('chunkDocument', () => {
  const sentence = (index: number) => `Sentence number ${index} explains one more detail about agents and their tasks.`;
  const longParagraph = Array.from({ length: 40 }, (_, index) => sentence(index)).join(' ');
  const markdown = `# Title\n\n## Short\n\nA short section.\n\n## Long\n\n${longParagraph}\n`;

  it('never crosses a section and keeps every chunk within the token limit', async () => {
    const document = await loadDocument(encode(markdown), 'long.md', 'markdown');
    const chunks = chunkDocument(document, { maxTokens: 100, overlapTokens: 20 });
    expect(chunks[0]).toMatchObject({ content: 'A short section.', context: 'Title > Short', metadata: { headingPath: ['Title', 'Short'] } });
    const long = chunks.slice(1);
    expect(long.length).toBeGreaterThan(3);
    for (const chunk of long) {
      expect(chunk.tokens).toBeLessThanOrEqual(100);
      expect(chunk.tokens).toBe(countTokens(chunk.content));
      expect(chunk.context).toBe('Title > Long');
      expect(markdown.slice(chunk.metadata.charStart, chunk.metadata.charEnd)).toBe(chunk.content);
    }
    // Every sentence is somewhere, whole, and consecutive chunks overlap by at least one sentence.
    for (let index = 0; index < 40; index += 1) expect(long.some((chunk) => chunk.content.includes(sentence(index)))).toBe(true);
    for (let index = 1; index < long.length; index += 1) {
      expect(long[index]!.metadata.charStart).toBeLessThan(long[index - 1]!.metadata.charEnd);
    }
  });

  it('packs small paragraphs together and honours overlap 0', async () => {
    const paragraphs = Array.from({ length: 6 }, (_, index) => `Paragraph ${index} is short.`).join('\n\n');
    const document = await loadDocument(encode(paragraphs), 'p.txt', 'text');
    const together = chunkDocument(document, { maxTokens: 400 });
    expect(together).toHaveLength(1);
    expect(together[0]!.content).toBe(paragraphs);
    const apart = chunkDocument(document, { maxTokens: 16, overlapTokens: 0 });
    expect(apart.length).toBeGreaterThan(1);
    expect(apart.map((chunk) => chunk.content).join('\n\n')).toBe(paragraphs);
  });

  it('cuts a single enormous sentence at word boundaries', async () => {
    const words = Array.from({ length: 600 }, (_, index) => `word${index}`).join(' ');
    const document = await loadDocument(encode(words), 'w.txt', 'text');
    const chunks = chunkDocument(document, { maxTokens: 64, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk.tokens).toBeLessThanOrEqual(64);
    expect(chunks.map((chunk) => chunk.content).join(' ')).toBe(words);
  });

  it('rejects nonsensical limits', () => {
    expect(() => chunkDocument({ title: 't', format: 'text', sections: [] }, { maxTokens: 100, overlapTokens: 60 })).toThrow(/overlapTokens/);
    expect(() => chunkDocument({ title: 't', format: 'text', sections: [] }, { maxTokens: 4 })).toThrow(/maxTokens/);
  });
});
