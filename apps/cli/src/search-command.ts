import { type SearchMode, searchChunks } from '@ensemble/vectors';

import type { Output } from './ingest-command.js';
import type { OpenedVectorStore as OpenedStore } from '@ensemble/vectors/open';

export async function runSearch(opened: OpenedStore, options: { query: string; k: number; mode: SearchMode; json: boolean }, output: Output): Promise<void> {
  await opened.store.setup();
  const hits = await searchChunks({ store: opened.store, embedder: opened.embedder }, options.query, { k: options.k, mode: options.mode });
  if (options.json) {
    output.out(`${JSON.stringify(hits, null, 2)}\n`);
    return;
  }
  if (hits.length === 0) {
    output.out('No matching chunks.\n');
    return;
  }
  hits.forEach((hit, index) => {
    const page = typeof hit.metadata['page'] === 'number' ? `, page ${hit.metadata['page']}` : '';
    output.out(`[${index + 1}] ${hit.score.toFixed(4)}  ${hit.context ?? hit.title}  (${hit.source}${page})\n`);
    output.out(`    ${hit.content.replace(/\s+/g, ' ').slice(0, 200)}\n`);
  });
}
