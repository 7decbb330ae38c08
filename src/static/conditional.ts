// Private to src/static: validators (ETag, Last-Modified) and the conditional request rules of
// RFC 9110 §13, as pure functions of the request's fields and the file's validators.
//
// The order is RFC 9110 §13.2.2, step by step:
//   1. If-Match present:               no strong match          → 412
//   2. else If-Unmodified-Since valid: modified after the date  → 412
//   3. If-None-Match present:          a weak match             → 304 (GET/HEAD), else 412
//   4. else If-Modified-Since valid, GET/HEAD: not modified since → 304
//   5. then Range and If-Range (range.ts), for GET only
// Anything else proceeds to the normal response.

/** What a file's response is judged by. */
export interface Validators {
  /** A strong entity-tag, quotes included: `"1a2b-3c-4d5e"`. */
  readonly etag: string;
  /** Last modification, in whole seconds since the epoch (HTTP dates have no finer unit). */
  readonly lastModified: number;
}

export type Precondition = 'proceed' | 'not-modified' | 'failed';

/** The fields the rules read, each joined as received (`a, b` for repeated fields). */
export interface ConditionalFields {
  readonly ifMatch?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
  readonly ifUnmodifiedSince?: string | undefined;
}

/**
 * A strong ETag from what changes whenever the content may have: size, modification time (to
 * the microsecond) and inode. Nothing in it depends on the process, so it is stable across
 * restarts and the same from every front that serves the same file.
 */
export function etagOf(stat: { size: number; mtimeMs: number; ino: number }): string {
  const micros = Math.trunc(stat.mtimeMs * 1000);
  return `"${stat.ino.toString(36)}-${stat.size.toString(36)}-${micros.toString(36)}"`;
}

/** Splits an entity-tag list (`"a", W/"b"`) into its tags; `*` stays `*`. */
export function parseEtagList(value: string): string[] {
  const tags: string[] = [];
  const re = /\s*(\*|(?:W\/)?"[^"]*")\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while ((match = re.exec(value)) !== null) {
    tags.push(match[1] as string);
    if (re.lastIndex >= value.length) break;
  }
  return tags;
}

const opaque = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** RFC 9110 §8.8.3.2: strong comparison, both tags strong and equal. */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b;
}

/** RFC 9110 §8.8.3.2: weak comparison, equal once any `W/` is dropped. */
export function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b);
}

export function evaluatePreconditions(
  method: string,
  fields: ConditionalFields,
  validators: Validators,
): Precondition {
  const { etag, lastModified } = validators;
  const safe = method === 'GET' || method === 'HEAD';
  if (fields.ifMatch !== undefined) {
    const tags = parseEtagList(fields.ifMatch);
    if (!tags.some((tag) => tag === '*' || strongMatch(tag, etag))) return 'failed';
  } else if (fields.ifUnmodifiedSince !== undefined) {
    const date = parseHttpDate(fields.ifUnmodifiedSince);
    if (date !== undefined && lastModified > date) return 'failed';
  }
  if (fields.ifNoneMatch !== undefined) {
    const tags = parseEtagList(fields.ifNoneMatch);
    if (tags.some((tag) => tag === '*' || weakMatch(tag, etag))) {
      return safe ? 'not-modified' : 'failed';
    }
  } else if (safe && fields.ifModifiedSince !== undefined) {
    const date = parseHttpDate(fields.ifModifiedSince);
    if (date !== undefined && lastModified <= date) return 'not-modified';
  }
  return 'proceed';
}

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// RFC 9110 §5.6.7: IMF-fixdate, and the two obsolete forms a recipient must still accept.
const IMF_FIXDATE = /^[A-Z][a-z]{2}, (\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;
const RFC850 = /^[A-Z][a-z]{5,8}, (\d\d)-([A-Z][a-z]{2})-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/;
const ASCTIME = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})$/;

/**
 * An HTTP-date in whole seconds since the epoch, or undefined when it is not one. Written out
 * rather than left to `Date.parse`, which reads the asctime form in the local time zone.
 */
export function parseHttpDate(value: string): number | undefined {
  const text = value.trim();
  // Each form's fields in one order: day, month, year, hour, minute, second.
  let parts: string[];
  let match = IMF_FIXDATE.exec(text);
  if (match !== null) parts = match.slice(1);
  else if ((match = RFC850.exec(text)) !== null) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past.
    const yy = Number(match[3]);
    const century = 2000 + yy > new Date().getUTCFullYear() + 50 ? 1900 : 2000;
    parts = [match[1], match[2], String(century + yy), match[4], match[5], match[6]] as string[];
  } else if ((match = ASCTIME.exec(text)) !== null) {
    parts = [match[2], match[1], match[6], match[3], match[4], match[5]] as string[];
  } else {
    return undefined;
  }
  const [day, month, year, hour, minute, second] = parts.map((p, i) =>
    i === 1 ? p : Number(p),
  ) as [number, string, number, number, number, number];
  const monthIndex = MONTHS[month];
  if (monthIndex === undefined || hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = Date.UTC(year, monthIndex, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) return undefined; // 31 Feb and the like
  return ms / 1000;
}
