// Who may see what `cask dev` shows about the app's insides (the error page, with source and
// local variables). Two checks, both needed:
//
// - the Host the request names is a loopback name (or one the user listed): a page that a
//   hostile site loads through DNS rebinding names the attacker's host, not localhost
//   (the hole behind werkzeug's CVE-2024-34069);
// - the client itself is on this machine: a Host header is the client's to write, so
//   `Host: localhost` from another machine, to a server bound on 0.0.0.0, proves nothing.
//
// A host listed in `--dev-allowed-hosts` is the user's explicit choice and passes from any
// client (a phone on the LAN, a container).

import { isIP } from 'node:net';
import type { Exchange } from '../exchange.js';

const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/** `Example.test:8000` -> `example.test`; `[::1]:8000` -> `[::1]`. */
export function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    return end === -1 ? lower : lower.slice(0, end + 1);
  }
  const colon = lower.indexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}

export function isLoopbackName(host: string): boolean {
  return LOOPBACK_NAMES.has(hostName(host));
}

/** 127.0.0.0/8, ::1, an IPv4-mapped 127.x, or '' (a Unix socket: on this machine). */
export function isLoopbackAddress(address: string): boolean {
  if (address === '') return true;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

/** The `errorPages` predicate of the gateway for `cask dev`. */
export function errorPageAudience(
  allowed: readonly string[],
): (exchange: Pick<Exchange, 'request' | 'remoteAddr'>) => boolean {
  const extra = new Set(allowed.map(hostName));
  return (exchange) => {
    const name = hostName(exchange.request.host);
    if (extra.has(name)) return true;
    return LOOPBACK_NAMES.has(name) && isLoopbackAddress(exchange.remoteAddr);
  };
}
