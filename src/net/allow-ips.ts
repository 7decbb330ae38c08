// Which peers may speak for their clients: the `forwarded-allow-ips` list of addresses and CIDR
// ranges (gunicorn's spelling and default). A peer on the list may set the client's address,
// scheme and host with X-Forwarded-* or Forwarded headers, and may send a PROXY protocol
// header; anyone else's such headers are dropped (docs/security.md).
//
// Matching is done by node:net's BlockList, which also matches IPv4-mapped IPv6 peers
// (`::ffff:127.0.0.1`, what a dual-stack listener reports) against IPv4 entries.

import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** One entry of the list, checked: `*`, an address, or an address/prefix. */
export type AllowEntry =
  | { kind: 'any' }
  | { kind: 'address'; address: string; family: 'ipv4' | 'ipv6' }
  | { kind: 'subnet'; address: string; prefix: number; family: 'ipv4' | 'ipv6' };

/**
 * Parses one entry; throws TypeError with the reason. `*` trusts every peer (only sensible when
 * the network lets nothing but the proxy reach Cask).
 */
export function parseAllowEntry(text: string): AllowEntry {
  const raw = text.trim();
  if (raw === '*') return { kind: 'any' };
  const slash = raw.indexOf('/');
  const address = stripBrackets(slash === -1 ? raw : raw.slice(0, slash));
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (family === undefined) {
    throw new TypeError(
      `Allowed proxy is not an IP address or CIDR range: ${JSON.stringify(text)}`,
    );
  }
  if (slash === -1) return { kind: 'address', address, family };
  const bits = raw.slice(slash + 1);
  const max = family === 'ipv4' ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
    throw new TypeError(`Allowed proxy has an invalid prefix length: ${JSON.stringify(text)}`);
  }
  return { kind: 'subnet', address, prefix: Number(bits), family };
}

function stripBrackets(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

/** Addresses whose answer is remembered; past it the memory starts afresh (bounded). */
const SEEN_MAX = 4096;

export class AllowList {
  private readonly list = new BlockList();
  private readonly seen = new Map<string, boolean>();
  private readonly any: boolean;
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    let any = false;
    for (const text of entries) {
      const entry = parseAllowEntry(text);
      if (entry.kind === 'any') any = true;
      else if (entry.kind === 'address') this.list.addAddress(entry.address, entry.family);
      else this.list.addSubnet(entry.address, entry.prefix, entry.family);
    }
    this.any = any;
    this.empty = entries.length === 0;
  }

  /**
   * Whether the peer of a connection is trusted. `remoteAddr` is what Node reports; it is empty
   * for a Unix socket peer, which is trusted as gunicorn trusts it: only local processes that
   * the socket file's permissions let in can connect.
   */
  trustsPeer(remoteAddr: string): boolean {
    return remoteAddr === '' || this.has(remoteAddr);
  }

  /** Whether the IP address `address` is on the list (false for anything that is not an IP). */
  has(address: string): boolean {
    // Asked once per connection: the regexes of isIPv4/isIPv6 and BlockList's SocketAddress
    // cost more than the rest of accepting a connection's bookkeeping, and clients repeat.
    const known = this.seen.get(address);
    if (known !== undefined) return known;
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    const trusted =
      family !== undefined && (this.any || (!this.empty && this.list.check(address, family)));
    if (this.seen.size >= SEEN_MAX) this.seen.clear();
    this.seen.set(address, trusted);
    return trusted;
  }
}
