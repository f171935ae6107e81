import { basename, extname } from 'node:path';

import { EnsembleError, ErrorCode } from '@ensemble/protocol';

import type { DocumentFormat, LoadedDocument } from '../types.js';
import { loadHtml } from './html.js';
import { loadMarkdown, loadPlainText } from './markdown.js';
import { loadPdf } from './pdf.js';

const EXTENSIONS: Readonly<Record<string, DocumentFormat>> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.mdx': 'markdown',
  '.txt': 'text',
  '.text': 'text',
  '.html': 'html',
  '.htm': 'html',
  '.pdf': 'pdf',
};

/** File extensions ingestion picks up when given a directory. */
export const SUPPORTED_EXTENSIONS: readonly string[] = Object.keys(EXTENSIONS);

/** The format of a file name, or undefined when unsupported. */
export function formatOf(fileName: string): DocumentFormat | undefined {
  return EXTENSIONS[extname(fileName).toLowerCase()];
}

/**
 * Parses one file's bytes. Text formats must be UTF-8 (a BOM is dropped); bytes that are not UTF-8, or a
 * "text" file with NUL bytes (a binary renamed), fail with `invalid_request` so ingestion reports and skips it.
 */
export async function loadDocument(bytes: Uint8Array, name: string, format: DocumentFormat): Promise<LoadedDocument> {
  const fallbackTitle = basename(name, extname(name));
  if (format === 'pdf') {
    try {
      return await loadPdf(bytes, fallbackTitle);
    } catch (error) {
      throw new EnsembleError(ErrorCode.InvalidRequest, `not a readable PDF (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (error) {
    throw new EnsembleError(ErrorCode.InvalidRequest, 'not valid UTF-8 text', { cause: error });
  }
  if (text.includes('\u0000')) throw new EnsembleError(ErrorCode.InvalidRequest, 'binary content (NUL bytes) in a text file');
  switch (format) {
    case 'markdown':
      return loadMarkdown(text, fallbackTitle);
    case 'html':
      return loadHtml(text, fallbackTitle);
    case 'text':
      return loadPlainText(text, fallbackTitle);
  }
}
