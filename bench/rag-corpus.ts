import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Real English text already on this machine: Markdown files and the doc comments of `.d.ts` files under
 * `node_modules`, cut into sentences and de-duplicated. Benchmarks embed these instead of random vectors,
 * because HNSW recall on uniform random vectors says nothing about recall on text embeddings.
 */
export async function collectPassages(roots: readonly string[], limit: number, onProgress?: (count: number) => void): Promise<string[]> {
  const files: string[] = [];
  for (const root of roots) files.push(...(await walk(root)).sort());
  const seen = new Set<string>();
  const passages: string[] = [];
  const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
  for (const file of files) {
    const text = await readText(file);
    const prose = /\.(d\.ts|[cm]?js)$/.test(file) ? docComments(text) : file.endsWith('.py') ? pythonProse(text) : stripMarkdown(text);
    for (const paragraph of prose.split(/\n\s*\n/)) {
      const flat = paragraph.replace(/\s+/g, ' ').trim();
      for (const { segment } of segmenter.segment(flat)) {
        const sentence = segment.trim();
        if (!looksLikeProse(sentence)) continue;
        const key = sentence.toLowerCase();
        if (seen.has(key)) continue;
        seen.add(key);
        passages.push(sentence);
        if (passages.length >= limit) return passages;
      }
    }
    onProgress?.(passages.length);
  }
  return passages;
}

/** Markdown, TypeScript declarations, JavaScript and Python sources, and Debian's plain-text docs. */
const SOURCE = /\.(md|markdown|d\.ts|js|mjs|cjs|py|txt|txt\.gz)$|^(README|changelog\.Debian\.gz|NEWS\.gz|README\.Debian)$/i;

async function readText(file: string): Promise<string> {
  try {
    const bytes = await readFile(file);
    return file.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  } catch {
    return '';
  }
}

/** Docstrings and `#` comments. */
function pythonProse(text: string): string {
  const parts: string[] = [];
  for (const match of text.matchAll(/(?:"""|''')([\s\S]*?)(?:"""|''')/g)) parts.push(match[1] ?? '');
  const comments = [...text.matchAll(/^\s*#\s?(.*)$/gm)].map((match) => match[1] ?? '');
  return `${parts.join('\n\n')}\n\n${comments.join('\n')}`;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile() && SOURCE.test(entry.name)) out.push(path);
  }
  return out;
}

function docComments(text: string): string {
  const parts: string[] = [];
  for (const match of text.matchAll(/\/\*\*?([\s\S]*?)\*\//g)) {
    const body = (match[1] ?? '')
      .split('\n')
      .map((line) => line.replace(/^\s*\*\s?/, ''))
      .filter((line) => !line.trimStart().startsWith('@'))
      .join('\n');
    parts.push(body);
  }
  return parts.join('\n\n');
}

function stripMarkdown(text: string): string {
  return text
    .replace(/```[\s\S]*?```/g, '\n\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^#+\s.*$/gm, '\n');
}

/** A sentence of words, not code, a table row or a badge. */
function looksLikeProse(sentence: string): boolean {
  if (sentence.length < 40 || sentence.length > 600) return false;
  const words = sentence.split(' ');
  if (words.length < 6) return false;
  const letters = sentence.replace(/[^a-zA-Z ]/g, '').length;
  return letters / sentence.length > 0.8 && /^[A-Z]/.test(sentence);
}
