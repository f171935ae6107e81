import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { z } from 'zod';

import { fetchJson } from './http-json.js';

export const WEB_SEARCH_PROVIDERS = ['brave', 'searxng'] as const;
export type WebSearchProvider = (typeof WEB_SEARCH_PROVIDERS)[number];

export interface WebSearchConfig {
  provider?: WebSearchProvider;
  /** Brave: defaults to https://api.search.brave.com; SearXNG: the instance's base URL (required). */
  apiUrl?: string;
  /** Brave: the subscription token (required). SearXNG: optional, sent as a bearer token. */
  apiKey?: string;
  timeoutMs: number;
}

export interface WebSearchHit {
  title: string;
  url: string;
  snippet: string;
  published?: string;
}

export interface WebSearchResults {
  query: string;
  provider: WebSearchProvider;
  results: WebSearchHit[];
}

export const BRAVE_DEFAULT_URL = 'https://api.search.brave.com';

const BraveResponse = z.object({
  web: z
    .object({
      results: z.array(z.object({ title: z.string(), url: z.string(), description: z.string().optional(), page_age: z.string().optional(), age: z.string().optional() })),
    })
    .optional(),
});

const SearxngResponse = z.object({
  results: z.array(z.object({ title: z.string(), url: z.string(), content: z.string().optional(), publishedDate: z.string().nullable().optional() })),
});

/** Web search through a real provider. Unconfigured, unreachable or failing providers are errors, never made-up results. */
export async function searchWeb(config: WebSearchConfig, query: { query: string; count: number }, signal?: AbortSignal): Promise<WebSearchResults> {
  const options = { timeoutMs: config.timeoutMs, ...(signal === undefined ? {} : { signal }) };
  switch (config.provider) {
    case undefined:
      throw new EnsembleError(
        ErrorCode.Unavailable,
        'Web search is not configured on this server (WEB_SEARCH_PROVIDER is unset), so no web results are available. Answer from other sources and say that web search was unavailable.',
        { wireCode: 'not_configured' },
      );
    case 'brave': {
      if (config.apiKey === undefined) {
        throw new EnsembleError(ErrorCode.Unavailable, 'Web search (Brave) is missing its API key (WEB_SEARCH_API_KEY), so no web results are available.', { wireCode: 'not_configured' });
      }
      const url = new URL('res/v1/web/search', withSlash(config.apiUrl ?? BRAVE_DEFAULT_URL));
      url.searchParams.set('q', query.query);
      url.searchParams.set('count', String(query.count));
      const raw = await fetchJson(url, { service: 'Web search (Brave)', headers: { 'X-Subscription-Token': config.apiKey }, ...options });
      const parsed = BraveResponse.safeParse(raw);
      if (!parsed.success) throw unexpectedShape('Brave');
      const hits = (parsed.data.web?.results ?? []).slice(0, query.count).map((hit) => {
        const published = hit.page_age ?? hit.age;
        return { title: stripTags(hit.title), url: hit.url, snippet: stripTags(hit.description ?? ''), ...(published === undefined ? {} : { published }) };
      });
      return { query: query.query, provider: 'brave', results: hits };
    }
    case 'searxng': {
      if (config.apiUrl === undefined) {
        throw new EnsembleError(ErrorCode.Unavailable, 'Web search (SearXNG) has no instance URL (WEB_SEARCH_API_URL), so no web results are available.', { wireCode: 'not_configured' });
      }
      const url = new URL('search', withSlash(config.apiUrl));
      url.searchParams.set('q', query.query);
      url.searchParams.set('format', 'json');
      const headers: Record<string, string> = config.apiKey === undefined ? {} : { Authorization: `Bearer ${config.apiKey}` };
      const raw = await fetchJson(url, { service: 'Web search (SearXNG)', headers, ...options });
      const parsed = SearxngResponse.safeParse(raw);
      if (!parsed.success) throw unexpectedShape('SearXNG');
      const hits = parsed.data.results.slice(0, query.count).map((hit) => ({
        title: stripTags(hit.title),
        url: hit.url,
        snippet: stripTags(hit.content ?? ''),
        ...(hit.publishedDate === undefined || hit.publishedDate === null ? {} : { published: hit.publishedDate }),
      }));
      return { query: query.query, provider: 'searxng', results: hits };
    }
  }
}

function unexpectedShape(provider: string): EnsembleError {
  return new EnsembleError(ErrorCode.UpstreamError, `Web search (${provider}) returned data in an unexpected shape; no web results are available`);
}

/** Providers highlight matches with `<strong>`; the model needs plain text. */
function stripTags(text: string): string {
  return text
    .replace(/<[^>]*>/g, '')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}

function withSlash(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}
