// Response framing for the connection driver: the head of a response in one latin1 Buffer,
// chunked-coding framing (RFC 9112 §7.1) and the Date value (RFC 9110 §6.6.1).
//
// This is the last point before bytes reach the client, so it refuses a status or field that
// could split the response (a CR or LF in a value is the classic response-splitting bug), even
// though the worker already checks them: the check costs tens of nanoseconds per field, a
// miss here costs a cache-poisoning bug. Refusals are CaskError CASK_APP_ERROR (a 500).

import { CaskError } from '../errors.js';

/** status-code SP [reason-phrase] (RFC 9112 §4); a bare 3-digit code gets its SP added. */
const STATUS = /^[1-5]\d\d(?: [\t\x20-\x7e\x80-\xff]*)?$/;
/** field-name = token (RFC 9110 §5.1, §5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Anything but field-vchar / SP / HTAB (RFC 9110 §5.5), or not encodable as latin1. */
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The head of a response as latin1 text, one byte per character (every character is checked
 * to be below 0x100, `extra` is ASCII):
 *
 *   HTTP/1.<versionMinor> SP <status> CRLF
 *   <name>: <value> CRLF       for each pair of the flat `headers` list
 *   <extra>                    preformatted lines, each ending in CRLF (e.g. dateHeaderLine())
 *   CRLF
 *
 * `extra` is trusted: it comes from the driver, never from the application.
 */
export function headText(
  versionMinor: 0 | 1,
  status: string,
  headers: string[],
  extra: string,
): string {
  if (!STATUS.test(status)) {
    throw new CaskError('CASK_APP_ERROR', `Invalid response status: ${JSON.stringify(status)}`);
  }
  let head = `${versionMinor === 1 ? 'HTTP/1.1 ' : 'HTTP/1.0 '}${status.length === 3 ? `${status} ` : status}\r\n`;
  const n = headers.length;
  if (n % 2 !== 0) {
    throw new CaskError('CASK_APP_ERROR', `Response header list has an odd length: ${n}`);
  }
  for (let i = 0; i < n; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name)) {
      throw new CaskError(
        'CASK_APP_ERROR',
        `Invalid response header name: ${JSON.stringify(name)}`,
      );
    }
    if (BAD_VALUE_CHAR.test(value)) {
      throw new CaskError(
        'CASK_APP_ERROR',
        `Invalid character in response header ${name}: ${JSON.stringify(value)}`,
      );
    }
    head += `${name}: ${value}\r\n`;
  }
  return `${head}${extra}\r\n`;
}

/** headText() as one latin1 Buffer. */
export function serializeHead(
  versionMinor: 0 | 1,
  status: string,
  headers: string[],
  extra: string,
): Buffer {
  return Buffer.from(headText(versionMinor, status, headers, extra), 'latin1');
}

/** CRLF that ends each chunk's data (RFC 9112 §7.1). */
export const CRLF: Buffer = Buffer.from('\r\n', 'latin1');

/** last-chunk plus the empty trailer section: the end of a chunked body (RFC 9112 §7.1). */
export const LAST_CHUNK: Buffer = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * chunk-size CRLF for a chunk of `n` bytes: write it, then the data, then CRLF. A size of 0
 * would end the body (it is last-chunk), so it is refused: send LAST_CHUNK for that.
 */
export function chunkHeader(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`Chunk size must be a positive integer: ${n}`);
  }
  return Buffer.from(`${n.toString(16)}\r\n`, 'latin1');
}

let dateSecond = -1;
let dateValue = '';
let dateLine = '';

function refreshDate(): void {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second === dateSecond) return;
  dateSecond = second;
  // toUTCString() produces exactly IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7).
  dateValue = new Date(second * 1000).toUTCString();
  dateLine = `Date: ${dateValue}\r\n`;
}

/** The current time as an IMF-fixdate; formatted at most once per second. */
export function httpDate(): string {
  refreshDate();
  return dateValue;
}

/** "Date: <httpDate()>\r\n", ready to pass as part of serializeHead()'s `extra`. */
export function dateHeaderLine(): string {
  refreshDate();
  return dateLine;
}
