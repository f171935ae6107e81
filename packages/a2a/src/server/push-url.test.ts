import { describe, expect, it } from 'vitest';

import { type HostResolver, checkPushUrl, refusedAddressClass } from './push-url.js';

/** A resolver answering from a fixed table (and failing for any other name), as DNS would. */
function resolver(table: Record<string, string[]>): HostResolver {
  return async (hostname) => {
    const addresses = table[hostname];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

async function reasonOf(url: string, allowPrivate = false, resolve: HostResolver = resolver({})): Promise<string> {
  const check = await checkPushUrl(url, { allowPrivate, resolve });
  return check.ok ? 'ok' : check.reason;
}

describe('checkPushUrl', () => {
  it('refuses cloud metadata addresses and names, even when private addresses are allowed', async () => {
    for (const allowPrivate of [false, true]) {
      expect(await reasonOf('http://169.254.169.254/latest/meta-data/', allowPrivate)).toBe('metadata');
      expect(await reasonOf('http://[fd00:ec2::254]/', allowPrivate)).toBe('metadata');
      expect(await reasonOf('http://100.100.100.200/', allowPrivate)).toBe('metadata');
      expect(await reasonOf('http://metadata.google.internal/computeMetadata/v1/', allowPrivate)).toBe('metadata');
      expect(await reasonOf('http://METADATA.google.internal./', allowPrivate)).toBe('metadata');
      // The same address spelled the ways WHATWG URL parsing accepts, and IPv4-mapped IPv6.
      expect(await reasonOf('http://2852039166/', allowPrivate)).toBe('metadata');
      expect(await reasonOf('http://0xa9.0xfe.0xa9.0xfe/', allowPrivate)).toBe('metadata');
      expect(await reasonOf('http://[::ffff:169.254.169.254]/', allowPrivate)).toBe('metadata');
    }
  });

  it('refuses link-local, unspecified, multicast and reserved addresses whatever the flag', async () => {
    for (const allowPrivate of [false, true]) {
      expect(await reasonOf('http://169.254.10.1/', allowPrivate)).toBe('link-local');
      expect(await reasonOf('http://[fe80::1]/', allowPrivate)).toBe('link-local');
      expect(await reasonOf('http://0.0.0.0:8080/', allowPrivate)).toBe('unspecified');
      expect(await reasonOf('http://[::]/', allowPrivate)).toBe('unspecified');
      expect(await reasonOf('http://224.0.0.1/', allowPrivate)).toBe('multicast');
      expect(await reasonOf('http://[ff02::1]/', allowPrivate)).toBe('multicast');
      expect(await reasonOf('http://255.255.255.255/', allowPrivate)).toBe('multicast');
      expect(await reasonOf('http://240.0.0.1/', allowPrivate)).toBe('reserved');
    }
  });

  it('refuses loopback and private ranges unless allowPrivate', async () => {
    const cases: Array<[string, string]> = [
      ['http://127.0.0.1:9000/hook', 'loopback'],
      ['http://127.1.2.3/', 'loopback'],
      ['http://[::1]:9000/', 'loopback'],
      ['http://[::ffff:127.0.0.1]/', 'loopback'],
      ['http://10.1.2.3/', 'private'],
      ['http://172.16.0.1/', 'private'],
      ['http://172.31.255.255/', 'private'],
      ['http://192.168.1.10/', 'private'],
      ['http://100.64.0.1/', 'private'],
      ['http://[fd12:3456::1]/', 'private'],
    ];
    for (const [url, reason] of cases) {
      expect(await reasonOf(url, false)).toBe(reason);
      expect(await reasonOf(url, true)).toBe('ok');
    }
  });

  it('accepts public addresses, IPv4 and IPv6, over http and https', async () => {
    expect(await reasonOf('https://93.184.216.34/hook')).toBe('ok');
    expect(await reasonOf('http://172.32.0.1/')).toBe('ok');
    expect(await reasonOf('https://[2606:4700:4700::1111]/hook')).toBe('ok');
    const check = await checkPushUrl('https://hooks.example.com/a2a', { resolve: resolver({ 'hooks.example.com': ['93.184.216.34', '2606:2800:220:1::1'] }) });
    expect(check).toMatchObject({ ok: true, addresses: [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }] });
  });

  it('judges a host name by every address it resolves to', async () => {
    const resolve = resolver({
      'rebind.example.com': ['93.184.216.34', '169.254.169.254'],
      'internal.example.com': ['10.0.0.5'],
      'v6-local.example.com': ['fe80::abcd'],
      'localhost.example.com': ['127.0.0.1', '::1'],
    });
    expect(await reasonOf('http://rebind.example.com/', true, resolve)).toBe('metadata');
    expect(await reasonOf('http://internal.example.com/', false, resolve)).toBe('private');
    expect(await reasonOf('http://internal.example.com/', true, resolve)).toBe('ok');
    expect(await reasonOf('http://v6-local.example.com/', true, resolve)).toBe('link-local');
    expect(await reasonOf('http://localhost.example.com/', false, resolve)).toBe('loopback');
    expect(await reasonOf('http://localhost.example.com/', true, resolve)).toBe('ok');
    expect(await reasonOf('http://nowhere.example.com/', true, resolve)).toBe('unresolvable');
  });

  it('refuses other schemes and malformed URLs, with a message that names the reason and nothing internal', async () => {
    expect(await reasonOf('file:///etc/passwd', true)).toBe('scheme');
    expect(await reasonOf('gopher://127.0.0.1:6379/_FLUSHALL', true)).toBe('scheme');
    expect(await reasonOf('ftp://93.184.216.34/', true)).toBe('scheme');
    expect(await reasonOf('/relative/hook', true)).toBe('malformed');
    expect(await reasonOf('not a url', true)).toBe('malformed');
    const check = await checkPushUrl('http://rebind.example.com/', { resolve: resolver({ 'rebind.example.com': ['169.254.169.254'] }) });
    expect(check).toEqual({ ok: false, reason: 'metadata', message: 'Push notification URL refused: its host is a cloud metadata address.' });
  });
});

describe('refusedAddressClass', () => {
  it('classifies literal addresses and treats garbage as malformed', () => {
    expect(refusedAddressClass('8.8.8.8', false)).toBeUndefined();
    expect(refusedAddressClass('169.254.169.254', true)).toBe('metadata');
    expect(refusedAddressClass('::ffff:10.0.0.1', false)).toBe('private');
    expect(refusedAddressClass('::ffff:10.0.0.1', true)).toBeUndefined();
    expect(refusedAddressClass('example.com', true)).toBe('malformed');
  });
});
