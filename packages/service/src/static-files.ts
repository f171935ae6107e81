import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

import type { Handler } from 'hono';

import type { ServiceEnv } from './http-app.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** Bundlers put a content hash in every file under `assets/`: such a URL never changes content. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The entry page names the current hashed assets, so it is revalidated on every load. */
const REVALIDATE = 'no-cache';

export interface StaticFilesOptions {
  /** The built directory (e.g. a Vite `dist/`). */
  directory: string;
  /** The URL prefix it is mounted at, e.g. `/console`. */
  prefix: string;
  /** The page served for the prefix itself and for unknown paths without an extension (client routes). */
  indexFile?: string;
}

/**
 * Serves a built single-page app: hashed assets cached forever, the index page revalidated, unknown
 * client-side routes answered with the index page, and nothing outside `directory` reachable.
 */
export function staticFiles(options: StaticFilesOptions): Handler<ServiceEnv> {
  const root = resolve(options.directory);
  const indexFile = options.indexFile ?? 'index.html';
  return async (c) => {
    const relative = decodeURIComponent(c.req.path.slice(options.prefix.length)).replace(/^\/+/, '');
    const candidate = normalize(join(root, relative === '' ? indexFile : relative));
    if (candidate !== root && !candidate.startsWith(root + sep)) return c.text('Not found', 404);
    const file = (await isFile(candidate)) ? candidate : extname(candidate) === '' ? join(root, indexFile) : undefined;
    if (file === undefined || !(await isFile(file))) return c.text('Not found', 404);
    const body = await readFile(file);
    const isAsset = file.startsWith(join(root, 'assets') + sep);
    return c.body(body, 200, {
      'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': isAsset ? IMMUTABLE : REVALIDATE,
    });
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
