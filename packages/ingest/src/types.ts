export type DocumentFormat = 'markdown' | 'text' | 'html' | 'pdf';

/** A run of text in a source: a paragraph, list, table or code block. Offsets index the loader's text. */
export interface Block {
  text: string;
  kind: 'paragraph' | 'code';
  /** Offsets into the source text (Markdown/text), the converted text (HTML) or the page text (PDF). */
  charStart: number;
  charEnd: number;
}

/** Consecutive blocks under one heading (or on one PDF page). */
export interface Section {
  /** Headings from the outermost to this section's own; empty before the first heading. */
  headingPath: string[];
  /** 1-based page number, for PDFs. */
  page?: number;
  blocks: Block[];
}

/** A file turned into structure: what the chunker works on. */
export interface LoadedDocument {
  title: string;
  format: DocumentFormat;
  sections: Section[];
}

export interface Chunk {
  content: string;
  /** Title and heading path (`Title > Section > Subsection`): searched and embedded with the content. */
  context: string;
  tokens: number;
  metadata: ChunkLocation;
}

/** Where a chunk comes from, stored as chunk metadata (and returned with search hits for citations). */
export interface ChunkLocation {
  headingPath: string[];
  page?: number;
  charStart: number;
  charEnd: number;
  [key: string]: unknown;
}
