import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { tryItBanner } from './banner.js';

const URLS = new Map([
  ['sim-llm', 'http://127.0.0.1:8100'],
  ['gateway', 'http://127.0.0.1:8000'],
]);

/** The curl command of the banner, joined across its continuation line. */
function curlOf(banner: string): string {
  const lines = banner.split('\n');
  const start = lines.findIndex((line) => line.trim().startsWith('curl '));
  return `${lines[start]!.replace(/\\$/, '')}${lines[start + 1]!}`.trim();
}

/** What a POSIX shell makes of the command: its arguments, one per line (printf, no network). */
function shellWords(command: string): string[] {
  return execFileSync('sh', ['-c', `set -- ${command.replace(/^curl /, '')}; printf '%s\\n' "$@"`], { encoding: 'utf8' }).trimEnd().split('\n');
}

describe('the "Try it" banner of make up', () => {
  it('lists the services and a curl to the gateway without auth when API_TOKENS is empty', () => {
    const banner = tryItBanner(URLS, []);
    expect(banner).toMatch(/^ {2}gateway\s+http:\/\/127\.0\.0\.1:8000$/m);
    const words = shellWords(curlOf(banner));
    expect(words).toContain('http://127.0.0.1:8000/v1/chat/completions');
    expect(words.some((word) => /^authorization:/i.test(word))).toBe(false);
  });

  it('sends the first API token as a bearer token when API_TOKENS is set', () => {
    const words = shellWords(curlOf(tryItBanner(URLS, ['sk-first', 'sk-second'])));
    expect(words).toContain('Authorization: Bearer sk-first');
    expect(words.join('\n')).not.toContain('sk-second');
    expect(JSON.parse(words.at(-1)!)).toMatchObject({ model: 'gpt-4o-mini' });
  });

  it('quotes a token the shell would otherwise split or expand', () => {
    const words = shellWords(curlOf(tryItBanner(URLS, ["it's $HOME"])));
    expect(words).toContain("Authorization: Bearer it's $HOME");
  });
});
