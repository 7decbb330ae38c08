// Complete error responses, built ahead of time so the error path does almost no work, allocates
// nothing and cannot itself fail. Each carries a Date, which RFC 9110 §6.6.1 requires of a 4xx
// from a server with a clock, so a response is prebuilt once per second of wall-clock time and
// the same Buffer is reused within that second (callers must not modify it).
//
// Protocol errors leave the parser dead and the connection unusable, so their responses always
// close it. 500, 502, 503 and 504 are about one exchange, not the connection, and also come in a
// keep-alive variant; `Connection: keep-alive` is spelled out for HTTP/1.0 clients (RFC 9112 §9.3),
// for whom persistence is not the default.

import { dateHeaderLine } from './serialize.js';

const REASONS = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large', // the RFC 9110 §15.5.14 name (formerly "Payload Too Large")
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
} as const;

export type CannedStatus = keyof typeof REASONS;
/** Statuses about one exchange, which may be sent on a connection that stays open. */
export type LiveStatus = 500 | 502 | 503 | 504;

export interface CannedOptions {
  /** Whether the response says `Connection: close` (the caller then closes). */
  close: boolean;
  /** Leave out the body, keeping its Content-Length: the answer to a HEAD request (RFC 9110 §9.3.2). */
  head?: boolean;
}

const LIVE: ReadonlySet<number> = new Set<LiveStatus>([500, 502, 503, 504]);

let cacheDate = '';
const cache = new Map<number, Buffer>();

/**
 * The full response for `status`, e.g. for 400:
 *
 *   HTTP/1.1 400 Bad Request\r\n
 *   Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n
 *   Content-Type: text/plain; charset=utf-8\r\n
 *   Content-Length: 16\r\n
 *   Connection: close\r\n
 *   \r\n
 *   400 Bad Request\n
 *
 * 503 adds `Retry-After: 1`. Only a LiveStatus may be asked for with `close: false`; the
 * options default to `{ close: true }`.
 */
export function cannedResponse(status: number, options: CannedOptions = { close: true }): Buffer {
  // `status` is a plain number because callers pass CaskError.status; a status outside the
  // table, or a keep-alive variant of a connection-level error, is a bug in the caller.
  const reason: string | undefined = REASONS[status as CannedStatus];
  if (reason === undefined) throw new RangeError(`No canned response for status: ${status}`);
  if (!options.close && !LIVE.has(status)) {
    throw new RangeError(`A canned ${status} response must close the connection: close = false`);
  }
  const date = dateHeaderLine();
  if (date !== cacheDate) {
    cache.clear();
    cacheDate = date;
  }
  const key = status * 4 + (options.close ? 2 : 0) + (options.head === true ? 1 : 0);
  let response = cache.get(key);
  if (response === undefined) {
    const body = `${status} ${reason}\n`;
    response = Buffer.from(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        date +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        (status === 503 ? 'Retry-After: 1\r\n' : '') +
        (options.close ? 'Connection: close\r\n' : 'Connection: keep-alive\r\n') +
        '\r\n' +
        (options.head === true ? '' : body),
      'latin1',
    );
    cache.set(key, response);
  }
  return response;
}

/** The reason phrase cannedResponse() sends with `status` (the HTTP/2 transport's canned bodies
 *  say the same words). Throws RangeError for a status it has none for. */
export function reasonPhrase(status: number): string {
  const reason: string | undefined = REASONS[status as CannedStatus];
  if (reason === undefined) throw new RangeError(`No canned response for status: ${status}`);
  return reason;
}

/** Every status cannedResponse() knows. */
export const CANNED_STATUSES: readonly CannedStatus[] = Object.keys(REASONS).map(
  Number,
) as CannedStatus[];
