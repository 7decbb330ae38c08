// Private to src/http (the parser's helpers; import the parser from `parser.ts`).
//
// The fast path, for the common case of a whole head already in the buffer (a small request
// read in one chunk). One pass over its bytes checks every line and records where each part
// lies, with no native call per line; the parser then decodes the head with one latin1Slice
// and cuts names and values out of that string.
//
// This file decides nothing. Anything unusual (an incomplete head, leading empty lines, a
// limit reached, any byte the grammar refuses) makes it give up, and the line-by-line path,
// which handles every case and raises every error, starts over from the same position. It
// only has to be right about what is plainly valid, which the conformance tests check by
// replaying each request whole (this path) and byte by byte (the other one).

import { COLON, CR, HTAB, LF, SP, TARGET_CHAR, TCHAR } from './bytes.js';

/** Heads with more fields than this take the line-by-line path. */
export const MAX_SCAN_FIELDS = 128;

/**
 * What scanHead() found, as buffer indexes: [0] end of the method, [1] end of the target (it
 * starts after the method's SP), [2] the minor version; and what scanFields() found: [3] the
 * CR of the empty line ending the head, then four per field: [name start, colon, value start,
 * value end]. One array for every parser: parsing is synchronous, and the parser reads it
 * before returning.
 */
export const found = new Int32Array(4 + 4 * MAX_SCAN_FIELDS);

/**
 * Scans the head starting at `ls`. Returns its number of fields, or -1 to leave it to the
 * line-by-line path. The limits mean what they mean in ParserLimits.
 */
export function scanHead(
  buf: Buffer,
  ls: number,
  maxRequestLine: number,
  maxFieldSize: number,
  maxFields: number,
  maxHeadSize: number,
): number {
  const len = buf.length;
  let i = ls;
  while (i < len && TCHAR[buf[i]!] === 1) i++;
  if (i === ls || i >= len || buf[i] !== SP) return -1;
  found[0] = i;
  const ts = ++i;
  while (i < len && TARGET_CHAR[buf[i]!] === 1) i++;
  // SP "HTTP/1." DIGIT CRLF is 11 bytes.
  if (i === ts || i + 11 > len || buf[i] !== SP) return -1;
  found[1] = i;
  if (
    buf[i + 1] !== 0x48 || // H
    buf[i + 2] !== 0x54 || // T
    buf[i + 3] !== 0x54 || // T
    buf[i + 4] !== 0x50 || // P
    buf[i + 5] !== 0x2f || // /
    buf[i + 6] !== 0x31 || // 1
    buf[i + 7] !== 0x2e || // .
    (buf[i + 8] !== 0x30 && buf[i + 8] !== 0x31) ||
    buf[i + 9] !== CR ||
    buf[i + 10] !== LF
  ) {
    return -1;
  }
  found[2] = buf[i + 8]! - 0x30;
  const lineLength = i + 9 - ls;
  if (lineLength > maxRequestLine) return -1;
  return scanFields(buf, i + 11, lineLength, maxFieldSize, maxFields, maxHeadSize);
}

/**
 * Scans field lines from `i` up to and including the empty line that ends the head, recording
 * them from found[4] on and the head's end in found[3]. `headBytes` is what the head already
 * counts and `maxFields` how many more fields it may have. Returns the number of fields, or
 * -1 to leave them to the line-by-line path.
 */
export function scanFields(
  buf: Buffer,
  i: number,
  headBytes: number,
  maxFieldSize: number,
  maxFields: number,
  maxHeadSize: number,
): number {
  const len = buf.length;
  const fieldCap = Math.min(maxFields, MAX_SCAN_FIELDS);
  const tchar = TCHAR;
  const out = found;
  for (let n = 0; ; n++) {
    if (i + 1 >= len) return -1;
    if (buf[i] === CR) {
      if (buf[i + 1] !== LF) return -1;
      out[3] = i;
      return n;
    }
    const ns = i;
    while (i < len && tchar[buf[i]!] === 1) i++;
    if (i === ns || i >= len || buf[i] !== COLON) return -1;
    const colon = i++;
    while (i < len && (buf[i] === SP || buf[i] === HTAB)) i++;
    const vs = i;
    // field-value bytes: anything but CTLs (HTAB aside) and DEL; stops at the CR of CRLF.
    for (; i < len; i++) {
      const c = buf[i]!;
      if (c < 0x20 ? c !== HTAB : c === 0x7f) break;
    }
    if (i + 1 >= len || buf[i] !== CR || buf[i + 1] !== LF) return -1;
    let ve = i;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    headBytes += i - ns;
    if (i - ns > maxFieldSize || headBytes > maxHeadSize || n === fieldCap) return -1;
    const o = 4 + 4 * n;
    out[o] = ns;
    out[o + 1] = colon;
    out[o + 2] = vs;
    out[o + 3] = ve;
    i += 2;
  }
}
