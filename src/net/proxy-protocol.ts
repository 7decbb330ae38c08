// Sans-IO reader of the PROXY protocol header, versions 1 and 2 (HAProxy's
// doc/proxy-protocol.txt), that a load balancer sends before the first HTTP byte to say who
// the client is. Only a listener started with `--proxy-protocol` reads it, and only from a
// peer in `forwarded-allow-ips`; on any other listener these bytes are just a bad request.
//
//   v1 (text, at most 107 bytes with its CRLF):
//     "PROXY" SP ( "TCP4" | "TCP6" ) SP src SP dst SP srcport SP dstport CRLF
//     "PROXY" SP "UNKNOWN" [ anything ] CRLF
//
//   v2 (binary, 16 bytes and then `length` more):
//     0                    12      13      14              16
//     +--------------------+-------+-------+---------------+---------------------------+
//     | signature          | ver + | fam + | length u16 BE | addresses, then TLVs      |
//     | \r\n\r\n\0\r\nQUIT\n | cmd   | proto |               | (TLVs are skipped)        |
//     +--------------------+-------+-------+---------------+---------------------------+
//     ver = 2 (high nibble); cmd = 0 LOCAL, 1 PROXY; fam = 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX;
//     proto = 0 UNSPEC, 1 STREAM, 2 DGRAM. INET: src4 dst4 srcport dstport (12 bytes);
//     INET6: src16 dst16 srcport dstport (36 bytes).
//
// LOCAL (a health check from the balancer itself), UNKNOWN, UNSPEC and UNIX carry no client
// IP: the connection keeps the real peer's address, as the spec asks.

import { isIPv4, isIPv6 } from 'node:net';
import { ProtocolError } from '../errors.js';

export type ProxyHeader =
  | { kind: 'local' }
  | {
      kind: 'proxied';
      sourceAddress: string;
      sourcePort: number;
      destAddress: string;
      destPort: number;
    };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V1_MAX = 107;
const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V2_HEAD = 16;
const LF = 0x0a;
const CR = 0x0d;

function fail(message: string): ProtocolError {
  return new ProtocolError('CASK_PROXY_PROTOCOL', message);
}

function shownBytes(buf: Buffer, from: number, to: number): string {
  const end = Math.min(to, from + 48);
  return JSON.stringify(buf.toString('latin1', from, end)) + (to > end ? '…' : '');
}

export class ProxyHeaderReader {
  /** Bytes held so far; `filled` of them are valid (a v2 header gets one buffer of its size). */
  private buf: Buffer = Buffer.alloc(0);
  private filled = 0;

  /**
   * Feeds bytes; returns null while the header is incomplete, else the header and the bytes
   * after it (the start of the HTTP stream). Throws ProtocolError on anything but a valid header.
   */
  push(chunk: Buffer): { header: ProxyHeader; rest: Buffer } | null {
    this.append(chunk);
    const buf = this.buf;
    const n = this.filled;
    const isV2 = buf[0] === CR;
    const signature = isV2 ? V2_SIGNATURE : V1_PREFIX;
    for (let i = 0; i < Math.min(n, signature.length); i++) {
      if (buf[i] !== signature[i]) {
        throw fail(
          `Connection does not start with a PROXY protocol header: ${shownBytes(buf, 0, n)}`,
        );
      }
    }
    return isV2 ? this.v2() : this.v1();
  }

  private append(chunk: Buffer): void {
    if (this.filled + chunk.length > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.filled + chunk.length, V2_HEAD));
      this.buf.copy(next, 0, 0, this.filled);
      this.buf = next;
    }
    chunk.copy(this.buf, this.filled);
    this.filled += chunk.length;
  }

  private v1(): { header: ProxyHeader; rest: Buffer } | null {
    const buf = this.buf;
    const n = this.filled;
    const lf = buf.subarray(0, Math.min(n, V1_MAX)).indexOf(LF);
    if (lf === -1) {
      if (n >= V1_MAX)
        throw fail(`PROXY v1 header longer than ${V1_MAX} bytes: ${shownBytes(buf, 0, n)}`);
      return null;
    }
    if (lf === 0 || buf[lf - 1] !== CR)
      throw fail(`PROXY v1 header does not end in CRLF: ${shownBytes(buf, 0, lf + 1)}`);
    const line = buf.toString('latin1', V1_PREFIX.length, lf - 1);
    const rest = buf.subarray(lf + 1, n);
    if (line === 'UNKNOWN' || line.startsWith('UNKNOWN '))
      return { header: { kind: 'local' }, rest };
    const parts = line.split(' ');
    const [family, src, dst, sport, dport] = parts;
    const check = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : undefined;
    if (
      parts.length !== 5 ||
      check === undefined ||
      !check(src ?? '') ||
      !check(dst ?? '') ||
      !isPort(sport ?? '') ||
      !isPort(dport ?? '')
    ) {
      throw fail(`Invalid PROXY v1 header: ${shownBytes(buf, 0, lf + 1)}`);
    }
    return {
      header: {
        kind: 'proxied',
        sourceAddress: src as string,
        sourcePort: Number(sport),
        destAddress: dst as string,
        destPort: Number(dport),
      },
      rest,
    };
  }

  private v2(): { header: ProxyHeader; rest: Buffer } | null {
    const buf = this.buf;
    const n = this.filled;
    if (n < V2_HEAD) return null;
    const version = buf[12]! >> 4;
    const command = buf[12]! & 0x0f;
    const family = buf[13]! >> 4;
    const transport = buf[13]! & 0x0f;
    const length = buf.readUInt16BE(14);
    if (version !== 2) throw fail(`Unsupported PROXY protocol version: ${version}`);
    if (command > 1) throw fail(`Unknown PROXY v2 command: ${command}`);
    if (family > 3 || transport > 2) {
      throw fail(`Unknown PROXY v2 address family: 0x${buf[13]!.toString(16).padStart(2, '0')}`);
    }
    if (n < V2_HEAD + length) {
      if (this.buf.length < V2_HEAD + length) {
        // Make room for the whole header once, so a header trickling in costs O(length).
        const whole = Buffer.allocUnsafe(V2_HEAD + length);
        buf.copy(whole, 0, 0, n);
        this.buf = whole;
      }
      return null;
    }
    const end = V2_HEAD + length;
    const rest = buf.subarray(end, n);
    // LOCAL: the balancer speaks for itself. UNSPEC and UNIX carry no IP address to use.
    if (command === 0 || family === 0 || family === 3) return { header: { kind: 'local' }, rest };
    if (transport !== 1) throw fail(`PROXY v2 header for a transport other than TCP: ${transport}`);
    const need = family === 1 ? 12 : 36;
    if (length < need) {
      throw fail(`PROXY v2 address block shorter than ${need} bytes: ${length}`);
    }
    const size = family === 1 ? 4 : 16;
    const at = V2_HEAD;
    const ports = at + 2 * size;
    return {
      header: {
        kind: 'proxied',
        sourceAddress: formatAddress(buf, at, size),
        destAddress: formatAddress(buf, at + size, size),
        sourcePort: buf.readUInt16BE(ports),
        destPort: buf.readUInt16BE(ports + 2),
      },
      rest,
    };
  }
}

function isPort(text: string): boolean {
  // Decimal 0-65535 without leading zeros (the spec's v1 grammar).
  if (text.length === 0 || text.length > 5 || (text.length > 1 && text[0] === '0')) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return Number(text) <= 65535;
}

/** An IPv4 or IPv6 address in the form Node reports peers (IPv6 compressed, lower case). */
function formatAddress(buf: Buffer, at: number, size: number): string {
  if (size === 4) return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(at + 2 * i));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    // IPv4-mapped (RFC 5952 §5): written as Node writes such peers, `::ffff:192.0.2.1`.
    return `::ffff:${buf[at + 12]}.${buf[at + 13]}.${buf[at + 14]}.${buf[at + 15]}`;
  }
  // RFC 5952: compress the longest run (of two or more) of zero groups, the first if tied.
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}
