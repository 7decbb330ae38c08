// Private to src/static: the Range field (RFC 9110 §14), parsed into a union first and then
// resolved against the file's size, and the framing of a multipart/byteranges body (§14.6).
//
//   parseRange("bytes=0-99,-500")            → { kind: 'bytes', specs: [int 0-99, suffix 500] }
//   resolveRanges(that, size 1000)           → { kind: 'partial', ranges: [0-99, 500-999] }
//   resolveRanges(parseRange("bytes=2000-"))  → { kind: 'unsatisfiable' }       (416)
//   parseRange("items=1-2") / bad syntax     → ignored: the whole file, 200
//
// Rules a server may choose (§14.2), chosen so that one request cannot make us send a file
// many times over: ranges that overlap or touch are merged, and a field with more than
// MAX_RANGES ranges is ignored (the whole file is sent once instead).

import { strongMatch, parseHttpDate, type Validators } from './conditional.js';

/** More ranges than this in one field: the field is ignored, as nginx's max_ranges does. */
export const MAX_RANGES = 64;

export type RangeSpec =
  | { readonly kind: 'int'; readonly first: number; readonly last: number | undefined }
  | { readonly kind: 'suffix'; readonly length: number };

export type ParsedRange =
  | { readonly kind: 'bytes'; readonly specs: readonly RangeSpec[] }
  /** Another unit, bad syntax, or too many ranges: the field is ignored (§14.2). */
  | { readonly kind: 'ignored'; readonly reason: string };

/** An inclusive byte range within the file. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type RangeResult =
  | { readonly kind: 'full' }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'partial'; readonly ranges: readonly ByteRange[] };

const DIGITS = /^\d{1,15}$/;

export function parseRange(value: string): ParsedRange {
  const eq = value.indexOf('=');
  if (eq === -1) return { kind: 'ignored', reason: 'no "="' };
  if (value.slice(0, eq).trim().toLowerCase() !== 'bytes') {
    return { kind: 'ignored', reason: 'not a bytes range' };
  }
  const specs: RangeSpec[] = [];
  for (const raw of value.slice(eq + 1).split(',')) {
    const item = raw.trim();
    if (item === '') continue; // RFC 9110 §5.6.1: empty list elements are ignored
    const dash = item.indexOf('-');
    if (dash === -1) return { kind: 'ignored', reason: 'a range without "-"' };
    const first = item.slice(0, dash).trim();
    const last = item.slice(dash + 1).trim();
    if (first === '') {
      if (!DIGITS.test(last)) return { kind: 'ignored', reason: 'a bad suffix length' };
      specs.push({ kind: 'suffix', length: Number(last) });
      continue;
    }
    if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) {
      return { kind: 'ignored', reason: 'a bad range' };
    }
    const firstPos = Number(first);
    const lastPos = last === '' ? undefined : Number(last);
    // §14.1.1: a last-pos below the first-pos makes the whole field invalid.
    if (lastPos !== undefined && lastPos < firstPos) {
      return { kind: 'ignored', reason: 'a range that ends before it starts' };
    }
    specs.push({ kind: 'int', first: firstPos, last: lastPos });
  }
  if (specs.length === 0) return { kind: 'ignored', reason: 'no range' };
  if (specs.length > MAX_RANGES) return { kind: 'ignored', reason: 'too many ranges' };
  return { kind: 'bytes', specs };
}

/** The satisfiable ranges of `parsed` within a file of `size` bytes (§14.1.1, §14.1.2). */
export function resolveRanges(parsed: ParsedRange, size: number): RangeResult {
  if (parsed.kind === 'ignored') return { kind: 'full' };
  const ranges: ByteRange[] = [];
  for (const spec of parsed.specs) {
    if (spec.kind === 'suffix') {
      if (spec.length === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - spec.length), end: size - 1 });
    } else if (spec.first < size) {
      ranges.push({ start: spec.first, end: Math.min(spec.last ?? size - 1, size - 1) });
    }
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'partial', ranges: coalesce(ranges) };
}

/** Merges ranges that overlap or touch; keeps the client's order when none do. */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length === 1) return ranges;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let overlap = false;
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i] as ByteRange).start <= (sorted[i - 1] as ByteRange).end + 1) overlap = true;
  }
  if (!overlap) return ranges;
  const merged: ByteRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range.start <= last.end + 1) {
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, range.end) };
    } else merged.push(range);
  }
  return merged;
}

/**
 * RFC 9110 §13.1.5: whether the Range field may be used. An entity-tag must match strongly; a
 * date must equal the file's Last-Modified exactly (a weak validator never allows a range).
 */
export function ifRangeAllows(ifRange: string | undefined, validators: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return strongMatch(value, validators.etag);
  const date = parseHttpDate(value);
  return date !== undefined && date === validators.lastModified;
}

/** `bytes 0-99/1000` */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/** One part of a multipart/byteranges body: its header bytes, then the file's range. */
export interface MultipartPart {
  readonly head: Buffer;
  readonly range: ByteRange;
}

export interface MultipartPlan {
  readonly contentType: string;
  readonly parts: readonly MultipartPart[];
  readonly tail: Buffer;
  /** The whole body's length: every part head, range and the tail. */
  readonly length: number;
}

/**
 * The body of a multipart/byteranges response (§14.6): for each range a part head (boundary,
 * Content-Type, Content-Range), then the range's bytes; then the closing boundary. Its length
 * is known in advance, so the response carries a Content-Length.
 */
export function multipartPlan(
  ranges: readonly ByteRange[],
  size: number,
  type: string,
  boundary: string,
): MultipartPlan {
  let length = 0;
  const parts = ranges.map((range, i) => {
    const head = Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: ${contentRange(range, size)}\r\n\r\n`,
      'latin1',
    );
    length += head.length + range.end - range.start + 1;
    return { head, range };
  });
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  length += tail.length;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, parts, tail, length };
}
