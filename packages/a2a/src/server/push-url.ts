import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where a push-notification URL may point. Push configs come from clients, and the agent POSTs to them
 * from inside the deployment: without this check a client could make the agent call the cloud metadata
 * service, or anything else on the internal network (SSRF).
 */

/** One address a host name resolves to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (default: `dns.lookup` with `all: true`). */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface PushUrlPolicy {
  /** Allow loopback and private ranges (`A2A_PUSH_ALLOW_PRIVATE`, for local development). Default false. */
  allowPrivate?: boolean;
  /** Injected in tests; default the system resolver. */
  resolve?: HostResolver;
}

/** Why a URL is refused; `message` is what the client is told (no resolved addresses, no internals). */
export type PushUrlRefusal = 'malformed' | 'scheme' | 'unresolvable' | 'metadata' | 'link-local' | 'unspecified' | 'multicast' | 'reserved' | 'loopback' | 'private';

export type PushUrlCheck =
  | { ok: true; url: URL; addresses: readonly ResolvedAddress[] }
  | { ok: false; reason: PushUrlRefusal; message: string };

const REASON_TEXT: Record<PushUrlRefusal, string> = {
  malformed: 'it is not an absolute URL',
  scheme: 'only http and https URLs are accepted',
  unresolvable: 'its host could not be resolved',
  metadata: 'its host is a cloud metadata address',
  'link-local': 'its host is a link-local address',
  unspecified: 'its host is an unspecified address',
  multicast: 'its host is a multicast or broadcast address',
  reserved: 'its host is a reserved address',
  loopback: 'its host is a loopback address (allowed only with A2A_PUSH_ALLOW_PRIVATE=true)',
  private: 'its host is a private-network address (allowed only with A2A_PUSH_ALLOW_PRIVATE=true)',
};

/** Host names of cloud metadata services, refused whatever they resolve to. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.internal']);

function blockList(entries: ReadonlyArray<readonly [string, number | undefined, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList();
  for (const [address, prefix, type] of entries) {
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return list;
}

/** Checked in this order: the first class an address falls in names the refusal. */
const CLASSES: ReadonlyArray<{ reason: PushUrlRefusal; list: BlockList; private?: true }> = [
  // AWS/GCP/Azure/OpenStack (169.254.169.254), AWS IPv6 (fd00:ec2::254), Alibaba (100.100.100.200).
  {
    reason: 'metadata',
    list: blockList([
      ['169.254.169.254', undefined, 'ipv4'],
      ['100.100.100.200', undefined, 'ipv4'],
      ['fd00:ec2::254', undefined, 'ipv6'],
    ]),
  },
  {
    reason: 'unspecified',
    list: blockList([
      ['0.0.0.0', 8, 'ipv4'],
      ['::', undefined, 'ipv6'],
    ]),
  },
  {
    reason: 'link-local',
    list: blockList([
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ]),
  },
  {
    reason: 'multicast',
    list: blockList([
      ['224.0.0.0', 4, 'ipv4'],
      ['255.255.255.255', undefined, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ]),
  },
  { reason: 'reserved', list: blockList([['240.0.0.0', 4, 'ipv4']]) },
  {
    reason: 'loopback',
    private: true,
    list: blockList([
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', undefined, 'ipv6'],
    ]),
  },
  {
    reason: 'private',
    private: true,
    list: blockList([
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['100.64.0.0', 10, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
    ]),
  },
];

/**
 * The class of a literal IP address that a push URL may not reach under `policy`, or `undefined` when
 * the address is acceptable. IPv4-mapped IPv6 addresses (`::ffff:169.254.169.254`) are judged as the
 * IPv4 address they carry.
 */
export function refusedAddressClass(address: string, allowPrivate: boolean): PushUrlRefusal | undefined {
  let ip = address;
  let family = isIP(ip);
  const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip) : null;
  if (mapped !== null) {
    ip = mapped[1]!;
    family = 4;
  }
  if (family === 0) return 'malformed';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const entry of CLASSES) {
    if (entry.list.check(ip, type)) return entry.private === true && allowPrivate ? undefined : entry.reason;
  }
  return undefined;
}

const systemResolver: HostResolver = async (hostname) => {
  const found = await lookup(hostname, { all: true, verbatim: true });
  return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
};

function refusal(reason: PushUrlRefusal): PushUrlCheck {
  return { ok: false, reason, message: `Push notification URL refused: ${REASON_TEXT[reason]}.` };
}

/**
 * Decides whether the agent may POST to `raw`: an absolute http(s) URL whose host is not a metadata
 * name and whose every address (a literal, or all that the resolver returns) is acceptable. Run when a
 * config is set and again before each delivery (DNS answers change); a delivery then connects to one of
 * the `addresses` checked here, so a second lookup cannot swap in another.
 */
export async function checkPushUrl(raw: string, policy: PushUrlPolicy = {}): Promise<PushUrlCheck> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refusal('malformed');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refusal('scheme');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (host === '') return refusal('malformed');
  if (METADATA_HOSTS.has(host)) return refusal('metadata');

  let addresses: readonly ResolvedAddress[];
  const literal = isIP(host);
  if (literal !== 0) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await (policy.resolve ?? systemResolver)(host);
    } catch {
      return refusal('unresolvable');
    }
    if (addresses.length === 0) return refusal('unresolvable');
  }
  for (const { address } of addresses) {
    const refused = refusedAddressClass(address, policy.allowPrivate ?? false);
    if (refused !== undefined) return refusal(refused === 'malformed' ? 'unresolvable' : refused);
  }
  return { ok: true, url, addresses };
}
