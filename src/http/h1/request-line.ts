// Private to src/http (the parser's helpers; import the parser from `parser.ts`).
//
// The two parts of a request-line that need more than a byte class: the HTTP-version, and the
// form of a request-target that is not origin-form (RFC 9112 §2.3, §3.2).

import { ProtocolError } from '../../errors.js';
import { badRequest, latin1, shown } from './bytes.js';
import { isHost } from '../host.js';

/** The method [start, end) as a string, without a native call for the most common ones. */
export function methodName(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  const c = buf[start];
  if (n === 3 && c === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (
    n === 4 &&
    c === 0x50 &&
    buf[start + 1] === 0x4f &&
    buf[start + 2] === 0x53 &&
    buf[start + 3] === 0x54
  ) {
    return 'POST';
  }
  if (
    n === 4 &&
    c === 0x48 &&
    buf[start + 1] === 0x45 &&
    buf[start + 2] === 0x41 &&
    buf[start + 3] === 0x44
  ) {
    return 'HEAD';
  }
  return latin1(buf, start, end);
}

/**
 * Minor version of HTTP-version [vs, cr): exactly "HTTP/1.1" or "HTTP/1.0" (RFC 9112 §2.3;
 * HTTP-name is case-sensitive). Another well-formed "HTTP/x.y" is a 505. RFC 9110 §2.5 would
 * have us read "HTTP/1.2" as 1.1, but no such version exists, and a client sending one is
 * probing rather than talking; a 505 is the unambiguous answer.
 */
export function versionMinor(buf: Buffer, vs: number, cr: number): 0 | 1 {
  if (
    cr - vs === 8 &&
    buf[vs] === 0x48 && // H
    buf[vs + 1] === 0x54 && // T
    buf[vs + 2] === 0x54 && // T
    buf[vs + 3] === 0x50 && // P
    buf[vs + 4] === 0x2f && // /
    isDigit(buf[vs + 5]!) &&
    buf[vs + 6] === 0x2e && // .
    isDigit(buf[vs + 7]!)
  ) {
    if (buf[vs + 5] === 0x31 && (buf[vs + 7] === 0x31 || buf[vs + 7] === 0x30)) {
      return buf[vs + 7] === 0x31 ? 1 : 0;
    }
    throw new ProtocolError('CASK_HTTP_VERSION', `Unsupported HTTP version: ${shown(buf, vs, cr)}`);
  }
  throw badRequest(`Invalid HTTP version: ${shown(buf, vs, cr)}`);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Checks a request-target that does not start with "/" and returns the authority to use as
 * the request's host (RFC 9112 §3.2.2: a server must use an absolute-form target's authority
 * instead of Host), or null for asterisk-form. This path is rare, so plain string code is fine.
 *
 * - asterisk-form "*" is only for a server-wide OPTIONS (§3.2.4);
 * - authority-form belongs to CONNECT (§3.2.3), which opens a tunnel that a WSGI server cannot
 *   provide: 501, before any guess at what the tunnelled bytes mean;
 * - absolute-form is accepted for http and https only (§3.2.2), with a non-empty authority
 *   (RFC 9110 §4.2.1) and no userinfo (§4.2.4 says to treat it as an error).
 */
export function checkTarget(method: string, target: string): string | null {
  if (method === 'CONNECT') {
    throw new ProtocolError(
      'CASK_HTTP_NOT_IMPLEMENTED',
      `Unsupported method: ${JSON.stringify(method)}`,
    );
  }
  if (target === '*') {
    if (method === 'OPTIONS') return null;
    throw badRequest(`Asterisk-form target outside OPTIONS: ${JSON.stringify(`${method} *`)}`);
  }
  const scheme = SCHEME.exec(target)?.[0].toLowerCase();
  if (scheme !== 'http:' && scheme !== 'https:') {
    throw badRequest(
      `Request target is not in origin, absolute or asterisk form: ${JSON.stringify(target)}`,
    );
  }
  if (!target.startsWith('//', scheme.length)) {
    throw badRequest(`Absolute-form target has no authority: ${JSON.stringify(target)}`);
  }
  const start = scheme.length + 2;
  let end = start;
  while (end < target.length && !'/?#'.includes(target[end]!)) end++;
  const authority = target.slice(start, end);
  if (authority === '' || authority.startsWith(':')) {
    throw badRequest(`Absolute-form target has an empty host: ${JSON.stringify(target)}`);
  }
  // The Host syntax admits neither "@" (so no userinfo) nor anything non-ASCII.
  if (!isHost(authority)) {
    throw badRequest(`Invalid authority in an absolute-form target: ${JSON.stringify(target)}`);
  }
  return authority;
}
