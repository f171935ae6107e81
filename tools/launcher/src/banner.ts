/**
 * What `make up` prints once every service is healthy: the URLs, and a curl that works as printed. With
 * `API_TOKENS` set the gateway answers 401 without a bearer token, so the curl carries the first one.
 */
export function tryItBanner(urls: ReadonlyMap<string, string>, apiTokens: readonly string[]): string {
  const gateway = urls.get('gateway') ?? 'http://127.0.0.1:8000';
  const token = apiTokens[0];
  const auth = token === undefined ? '' : ` -H ${shellQuote(`Authorization: Bearer ${token}`)}`;
  return [
    '',
    'Ensemble is up. Services:',
    ...[...urls].map(([name, url]) => `  ${name.padEnd(18)} ${url}`),
    '',
    'Try it:',
    `  curl -s ${gateway}/v1/chat/completions -H 'Content-Type: application/json'${auth} \\`,
    `    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is 2+2?"}]}'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

/** Single-quotes `text` for a POSIX shell (a token may hold any character). */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
