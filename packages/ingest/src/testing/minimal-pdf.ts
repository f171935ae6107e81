/**
 * Writes a small, valid PDF 1.4 with Helvetica text: one page per entry of `pages`, each a list of
 * paragraphs wrapped at ~90 characters, and `/Title` in the document info. Enough to test the PDF loader
 * and to generate the sample corpus PDF without a PDF library. ASCII text only.
 */
export function minimalPdf(title: string, pages: ReadonlyArray<readonly string[]>): Uint8Array {
  const objects: string[] = [];
  const add = (body: string) => {
    objects.push(body);
    return objects.length;
  };
  const catalog = add('');
  const pagesObject = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const info = add(`<< /Title (${escapePdf(title)}) /Producer (Ensemble minimal-pdf) >>`);
  const pageIds: number[] = [];
  for (const paragraphs of pages) {
    const lines: string[] = ['BT', '/F1 11 Tf', '72 740 Td', '14 TL'];
    paragraphs.forEach((paragraph, index) => {
      // A blank line between paragraphs: a vertical gap the loader reads as a paragraph break.
      if (index > 0) lines.push('T*');
      for (const line of wrap(paragraph, 90)) lines.push(`(${escapePdf(line)}) Tj T*`);
    });
    lines.push('ET');
    const stream = lines.join('\n');
    const content = add(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
    pageIds.push(add(`<< /Type /Page /Parent ${pagesObject} 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R >>`));
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObject} 0 R >>`;
  objects[pagesObject - 1] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageIds.length} >>`;

  let output = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(output.length);
    output += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = output.length;
  output += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) output += `${String(offset).padStart(10, '0')} 00000 n \n`;
  output += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R /Info ${info} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(output);
}

function escapePdf(text: string): string {
  return text.replace(/[\\()]/g, (character) => `\\${character}`);
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((entry) => entry.length > 0)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line.length === 0 ? word : `${line} ${word}`;
  }
  if (line.length > 0) lines.push(line);
  return lines;
}
