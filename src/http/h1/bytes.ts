// Private to src/http (the parser's helpers; import the parser from `parser.ts`).
//
// Byte classes of the HTTP grammar as 256-entry lookup tables, so the hot loops of the parser
// are one array load and one compare per byte, with no regular expressions and no strings.

import { ProtocolError } from '../../errors.js';

export const HTAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const DQUOTE = 0x22;
export const HASH = 0x23;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const BACKSLASH = 0x5c;

function table(member: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = member(c) ? 1 : 0;
  return t;
}

const isAlnum = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const oneOf = (chars: string) => (c: number) => chars.includes(String.fromCharCode(c));

/** tchar (RFC 9110 §5.6.2): methods, field names, codings, chunk-ext names. */
export const TCHAR = table((c) => isAlnum(c) || oneOf("!#$%&'*+-.^_`|~")(c));

/**
 * field-vchar / SP / HTAB (RFC 9110 §5.5): every byte but the CTLs and DEL. obs-text
 * (0x80-0xFF) is allowed, as §5.5 still permits it, and is kept as latin1.
 */
export const FIELD_CHAR = table((c) => c === HTAB || (c >= 0x20 && c !== 0x7f));

/**
 * Bytes of a request-target: no whitespace and no CTL (RFC 9112 §3.2 and §3: whitespace is the
 * request-line separator, so a target holding one is exactly the ambiguity that §3 warns
 * about). Raw obs-text is tolerated because real clients send unencoded UTF-8 paths; the
 * target is handed on as latin1 so no byte is lost.
 *
 * "#" is left out too: none of the four forms of §3.2 has a fragment, so a target holding one
 * is refused rather than cut there. Cutting would run a request on a resource the client did
 * not name (`DELETE /coll/frag/#ment` would delete `/coll/frag/`).
 */
export const TARGET_CHAR = table((c) => c > 0x20 && c !== 0x7f && c !== HASH);

/** qdtext (RFC 9110 §5.6.4): what a quoted-string may hold without a backslash. */
export const QDTEXT = table(
  (c) =>
    c === HTAB ||
    c === SP ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x7e && c !== BACKSLASH) ||
    c >= 0x80,
);

/** Hex digit values, -1 for anything else (chunk-size = 1*HEXDIG, RFC 9112 §7.1). */
export const HEX_VALUE = new Int8Array(256).fill(-1);
for (let c = 0; c < 256; c++) {
  if (c >= 0x30 && c <= 0x39) HEX_VALUE[c] = c - 0x30;
  else if (c >= 0x41 && c <= 0x46) HEX_VALUE[c] = c - 0x41 + 10;
  else if (c >= 0x61 && c <= 0x66) HEX_VALUE[c] = c - 0x61 + 10;
}

interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

if (typeof (Buffer.prototype as Latin1Buffer).latin1Slice !== 'function') {
  throw new Error('Buffer.prototype.latin1Slice is missing: this Node.js is not supported');
}

/**
 * Bytes [start, end) as a latin1 string. `latin1Slice` is what `toString('latin1', …)` ends up
 * calling, minus the encoding lookup and argument checks: it is measurably faster for the
 * short strings of a request head.
 */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1Buffer).latin1Slice(start, end);
}

/** Whether bytes [start, end) equal `lower` ignoring ASCII case; `lower` holds a-z, 0-9 and "-". */
export function equalsLower(buf: Buffer, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  // `| 0x20` folds A-Z onto a-z. The only other bytes it folds onto "-" or a digit are CTLs
  // (0x0d, 0x10-0x19), and callers only pass bytes already checked as token or field-value bytes.
  for (let i = 0; i < lower.length; i++) {
    if ((buf[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Index of the first byte at or after `i` (before `end`) that is not SP or HTAB (OWS). */
export function skipOws(buf: Buffer, i: number, end: number): number {
  while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  return i;
}

/** Bytes [start, end) quoted for an error message: JSON escapes, at most 64 bytes shown. */
export function shown(buf: Buffer, start: number, end: number): string {
  const cut = end - start > 64;
  const text = JSON.stringify(latin1(buf, start, cut ? start + 64 : end));
  return cut ? `${text}…` : text;
}

export function badRequest(message: string): ProtocolError {
  return new ProtocolError('CASK_HTTP_BAD_REQUEST', message);
}
