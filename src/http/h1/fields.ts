// Private to src/http (the parser's helpers; import the parser from `parser.ts`).
//
// Byte-level checks of field lines and of the few field values the parser must understand to
// frame a message (RFC 9112 §5, §6, §7.1). Each function reads bytes [start, end) of the
// parser's buffer in place and either returns or throws a ProtocolError; none allocates on
// success except where it says so.

import type { ProtocolError } from '../../errors.js';
import {
  BACKSLASH,
  COLON,
  COMMA,
  DQUOTE,
  EQUALS,
  FIELD_CHAR,
  HEX_VALUE,
  HTAB,
  QDTEXT,
  SEMICOLON,
  SP,
  TCHAR,
  badRequest,
  equalsLower,
  shown,
  skipOws,
} from './bytes.js';

/**
 * Index of the colon that ends the field name of line [ls, le).
 *
 * field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). A line starting with SP or
 * HTAB is obs-fold, which a server must reject or unfold (§5.2): we reject, since an unfolding
 * server and a non-unfolding proxy see different headers. Whitespace between the name and
 * the colon must be answered with 400 (§5.1) for the same reason.
 */
export function fieldColon(buf: Buffer, ls: number, le: number): number {
  let i = ls;
  while (i < le && TCHAR[buf[i]!] === 1) i++;
  if (i < le && buf[i] === COLON && i > ls) return i;
  if (i === ls && (buf[i] === SP || buf[i] === HTAB)) {
    throw badRequest(`Obsolete line folding in a header field: ${shown(buf, ls, le)}`);
  }
  if (i === ls && buf[i] === COLON) {
    throw badRequest(`Empty header field name: ${shown(buf, ls, le)}`);
  }
  const colon = buf.indexOf(COLON, i);
  if (colon === -1 || colon > le) {
    throw badRequest(`Header field line has no colon: ${shown(buf, ls, le)}`);
  }
  if (buf[i] === SP || buf[i] === HTAB) {
    throw badRequest(`Whitespace before the colon of a header field: ${shown(buf, ls, le)}`);
  }
  throw badRequest(`Invalid character in a header field name: ${shown(buf, ls, le)}`);
}

/**
 * Checks that value [vs, ve) holds only field-value bytes (RFC 9110 §5.5). A CR, LF or NUL in
 * a value must be rejected or replaced by SP (§5.5); we reject every CTL, as a value the
 * application could pass on verbatim must not be able to split a line downstream.
 */
export function checkFieldValue(buf: Buffer, vs: number, ve: number, ls: number): void {
  for (let i = vs; i < ve; i++) {
    if (FIELD_CHAR[buf[i]!] === 0) {
      throw badRequest(`Control character in a header field value: ${shown(buf, ls, ve)}`);
    }
  }
}

/** End of value [vs, le) once its trailing OWS is dropped (RFC 9112 §5: OWS is not part of it). */
export function trimEnd(buf: Buffer, vs: number, le: number): number {
  while (le > vs && (buf[le - 1] === SP || buf[le - 1] === HTAB)) le--;
  return le;
}

/**
 * Content-Length = 1*DIGIT (RFC 9110 §8.6). A sign, inner spaces, or a list, even of identical
 * members (which §8.6 lets a recipient accept), is a 400: every lenient reading is a reading a
 * proxy in front of us might not share. Returns the value, or Infinity when it exceeds
 * Number.MAX_SAFE_INTEGER (the caller turns that into a 413, like any other oversize body).
 */
export function parseContentLength(buf: Buffer, vs: number, ve: number): number {
  if (vs === ve) throw badRequest('Invalid Content-Length: ""');
  let n = 0;
  for (let i = vs; i < ve; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) throw badRequest(`Invalid Content-Length: ${shown(buf, vs, ve)}`);
    n = n * 10 + d;
  }
  return n > Number.MAX_SAFE_INTEGER ? Infinity : n;
}

/** Bits the parser keeps about the Transfer-Encoding list seen so far. */
export const TE_SEEN = 1;
export const TE_CHUNKED = 2;
export const TE_OTHER = 4;

/**
 * Folds Transfer-Encoding value [vs, ve) into `flags` (the list may span several field lines,
 * RFC 9110 §5.3, which are read in order).
 *
 * Only `chunked` is implemented. It may appear once and must be the final coding (RFC 9112
 * §6.1: a sender must not apply it twice; §6.3: a request whose final coding is not chunked
 * has no reliable length, so a coding after it is a 400 at once). Other codings are refused
 * later with 501 (§6.1), once the whole head has shown there is no 400 to give instead.
 * Empty list members (`chunked, ,`) are rejected, unlike RFC 9110 §5.6.1's lenient rule: on the
 * framing header every leniency is a chance for a proxy and us to disagree.
 */
export function scanTransferEncoding(buf: Buffer, vs: number, ve: number, flags: number): number {
  flags |= TE_SEEN;
  let i = vs;
  for (;;) {
    const start = i;
    while (i < ve && TCHAR[buf[i]!] === 1) i++;
    if (i === start) throw badRequest(`Invalid Transfer-Encoding: ${shown(buf, vs, ve)}`);
    const isChunked = equalsLower(buf, start, i, 'chunked');
    if ((flags & TE_CHUNKED) !== 0) {
      throw badRequest(
        isChunked
          ? `Transfer-Encoding applies chunked twice: ${shown(buf, vs, ve)}`
          : `Transfer-Encoding has a coding after chunked: ${shown(buf, vs, ve)}`,
      );
    }
    i = skipOws(buf, i, ve);
    if (i < ve && buf[i] === SEMICOLON) {
      // transfer-parameter: chunked takes none; another coding is refused with 501 anyway,
      // so its parameters are only required to be field-value bytes (already checked).
      if (isChunked) {
        throw badRequest(`Transfer-Encoding gives chunked a parameter: ${shown(buf, vs, ve)}`);
      }
      while (i < ve && buf[i] !== COMMA) i++;
    }
    flags |= isChunked ? TE_CHUNKED : TE_OTHER;
    if (i === ve) return flags;
    if (buf[i] !== COMMA) throw badRequest(`Invalid Transfer-Encoding: ${shown(buf, vs, ve)}`);
    i = skipOws(buf, i + 1, ve);
  }
}

export const CONNECTION_CLOSE = 1;
export const CONNECTION_KEEP_ALIVE = 2;
export const CONNECTION_UPGRADE = 4;

/**
 * Folds Connection value [vs, ve) into `flags`: the `close`, `keep-alive` and `upgrade`
 * options (RFC 9110 §7.6.1, §7.8, RFC 9112 §9.3). Other options are ignored, as are empty
 * members (RFC 9110 §5.6.1); this header does not frame the message, so leniency here cannot
 * desynchronise anyone.
 */
export function scanConnection(buf: Buffer, vs: number, ve: number, flags: number): number {
  let i = vs;
  while (i < ve) {
    let end = i;
    while (end < ve && buf[end] !== COMMA) end++;
    const next = end + 1;
    end = trimEnd(buf, i, end);
    if (equalsLower(buf, i, end, 'close')) flags |= CONNECTION_CLOSE;
    else if (equalsLower(buf, i, end, 'keep-alive')) flags |= CONNECTION_KEEP_ALIVE;
    else if (equalsLower(buf, i, end, 'upgrade')) flags |= CONNECTION_UPGRADE;
    i = skipOws(buf, next, ve);
  }
  return flags;
}

/** More hex digits than this cannot be a size anyone means; it also keeps the sum exact enough. */
export const MAX_CHUNK_SIZE_DIGITS = 16;

/**
 * End of the chunk-size at the start of line [ls, le): 1*HEXDIG (RFC 9112 §7.1), at most
 * MAX_CHUNK_SIZE_DIGITS of them. No sign, no "0x", no leading whitespace.
 */
export function chunkSizeEnd(buf: Buffer, ls: number, le: number): number {
  let i = ls;
  while (i < le && HEX_VALUE[buf[i]!]! >= 0) i++;
  if (i === ls) throw badRequest(`Invalid chunk size: ${shown(buf, ls, le)}`);
  if (i - ls > MAX_CHUNK_SIZE_DIGITS) {
    throw badRequest(`Chunk size has too many digits: ${shown(buf, ls, le)}`);
  }
  return i;
}

/** Value of the hex digits [ls, end), already checked by chunkSizeEnd(). */
export function chunkSize(buf: Buffer, ls: number, end: number): number {
  let n = 0;
  // Up to 16 digits a double may round, but only above 2^53, far beyond any body limit.
  for (let i = ls; i < end; i++) n = n * 16 + HEX_VALUE[buf[i]!]!;
  return n;
}

/**
 * Checks the chunk extensions [i, le) that follow a chunk-size (RFC 9112 §7.1.1):
 *
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-name = token
 *   chunk-ext-val  = token / quoted-string
 *
 * They are validated and then ignored (a recipient must ignore unrecognised extensions).
 */
export function checkChunkExtensions(buf: Buffer, i: number, le: number, ls: number): void {
  const bad = (what: string): ProtocolError => badRequest(`${what}: ${shown(buf, ls, le)}`);
  while (i < le) {
    i = skipOws(buf, i, le);
    if (i === le || buf[i] !== SEMICOLON) throw bad('Invalid chunk size line');
    i = skipOws(buf, i + 1, le);
    const name = i;
    while (i < le && TCHAR[buf[i]!] === 1) i++;
    if (i === name) throw bad('Invalid chunk extension name');
    const afterName = i;
    i = skipOws(buf, i, le);
    if (i === le || buf[i] !== EQUALS) {
      i = afterName; // BWS that is not followed by "=" must be followed by the next ";"
      continue;
    }
    i = skipOws(buf, i + 1, le);
    if (i < le && buf[i] === DQUOTE) {
      i = quotedStringEnd(buf, i, le);
      if (i < 0) throw bad('Invalid quoted chunk extension value');
    } else {
      const value = i;
      while (i < le && TCHAR[buf[i]!] === 1) i++;
      if (i === value) throw bad('Invalid chunk extension value');
    }
  }
}

/**
 * Index just past the quoted-string that opens at `i` (RFC 9110 §5.6.4), or -1 if it is not
 * closed before `le` or holds a byte it may not hold.
 */
function quotedStringEnd(buf: Buffer, i: number, le: number): number {
  for (i++; i < le; i++) {
    const c = buf[i]!;
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      if (++i === le || FIELD_CHAR[buf[i]!] === 0) return -1;
    } else if (QDTEXT[c] === 0) {
      return -1;
    }
  }
  return -1;
}
