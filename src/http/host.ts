// The syntax of a Host value (RFC 9110 §7.2, RFC 3986 §3.2.2), shared by the parser (the Host
// field, RFC 9112 §3.2: an invalid one is a 400) and the proxy headers (X-Forwarded-Host and
// Forwarded's host=, which are ignored when invalid).
//
//   Host      = uri-host [ ":" port ]         port     = *DIGIT
//   uri-host  = IP-literal / IPv4address / reg-name
//   reg-name  = *( unreserved / pct-encoded / sub-delims )
//   IP-literal = "[" IPv6address "]"          (IPvFuture is refused: nobody sends it)
//
// Rejecting '/', '@', '\', spaces, a second ':' and the like keeps a hostile Host out of every
// URL the application builds from it (password-reset links, redirects, cache keys).

import { isIPv6 } from 'node:net';

/** Bytes of a reg-name (and so of an IPv4address): unreserved, sub-delims and "%". */
const REG_NAME = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%") {
  REG_NAME[c.charCodeAt(0)] = 1;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Whether `text` is a valid Host value; the empty value is valid (RFC 9112 §3.2). */
export function isHost(text: string): boolean {
  const n = text.length;
  let i = 0;
  if (n > 0 && text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']');
    if (close === -1 || !isIPv6(text.slice(1, close))) return false;
    i = close + 1;
  } else {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c >= 128 || REG_NAME[c] === 0) break;
      if (c === 0x25 /* % */ && !(isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2)))) {
        return false;
      }
      i++;
    }
  }
  if (i === n) return true;
  if (text.charCodeAt(i) !== 0x3a /* : */ || n - i - 1 > 5) return false;
  for (i++; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
