// Private to src/http2: the request of one HTTP/2 stream, from the header block node:http2
// decoded, as the transport-neutral RequestInfo (src/exchange.ts). Pure: no stream, no socket.
//
// nghttp2 has already refused what breaks the framing rules (RFC 9113 §8.2, §8.3): uppercase
// names, a pseudo-header after a regular one or twice, a missing :method/:scheme/:path, bytes
// not allowed in a field, a Content-Length the DATA frames do not match. What is checked here is
// what an application server must refuse on top, the same way the HTTP/1.1 parser refuses it,
// so that a request means the same to the app whichever protocol carried it:
//
//   what                                              | answer
//   --------------------------------------------------+---------------------------------------
//   Connection, Keep-Alive, Proxy-Connection,         | 400 (RFC 9113 §8.2.2: malformed; they
//   Transfer-Encoding, Upgrade; TE other than         |   could smuggle HTTP/1.1 framing to a
//   "trailers"                                        |   backend that reads them)
//   CONNECT (a tunnel a WSGI server cannot provide)   | 501, as for HTTP/1.1
//   :path not origin-form ("*" only for OPTIONS), or  | 400
//   with a '#', a control byte or a space             |
//   :path longer than limit-request-line              | 414
//   more than limit-request-fields fields, or one     | 431
//   longer than limit-request-field-size              |
//   Host differing from :authority (§8.3.1), either   | 400
//   one not a valid host                              |
//   Content-Length not digits, two Content-Types      | 400
//   Content-Length past max-body-size                 | 413
//
// What the app then sees: the method, :path as the target, 'HTTP/2' as SERVER_PROTOCOL, the
// regular fields in order with `Host` first (from :authority when the client sent no Host
// field, as RFC 9113 §8.3.1 has clients do), and the cookie crumbs of §8.2.3 joined by "; "
// into one Cookie field, as they would have been sent over HTTP/1.1.

import { ProtocolError } from '../errors.js';
import type { RequestInfo } from '../exchange.js';
import { isHost } from '../http/host.js';

export interface StreamLimits {
  /** Longest :path (limit-request-line); 0 for no limit. */
  maxTarget: number;
  /** Most regular header fields (limit-request-fields). */
  maxHeaderCount: number;
  /** Longest field, `name: value` as HTTP/1.1 would write it (limit-request-field-size); 0 for no limit. */
  maxHeaderFieldSize: number;
  /** Largest body (max-body-size); 0 for no limit. */
  maxBodySize: number;
}

export interface StreamRequest extends RequestInfo {
  /** The client sent `Expect: 100-continue`: it waits for a 100 before its body (RFC 9110 §10.1.1). */
  expectContinue: boolean;
}

/** Connection-specific fields, malformed in an HTTP/2 request (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** Anything but the bytes RFC 3986 lets a request-target carry, '#' included (a fragment). */
const BAD_TARGET_BYTE = /[^\x21\x22\x24-\x7e\x80-\xff]/;
const DIGITS = /^\d{1,15}$/;

function bad(message: string): ProtocolError {
  return new ProtocolError('CASK_HTTP_BAD_REQUEST', message);
}

/**
 * The request of a stream. `raw` is node:http2's `rawHeaders` (flat [name, value, …], names in
 * lowercase as HTTP/2 requires, values latin1); `endStream` says the HEADERS frame ended the
 * stream, so no body follows. Throws ProtocolError with the status to answer (table above).
 */
export function readRequest(
  raw: readonly string[],
  endStream: boolean,
  limits: StreamLimits,
): StreamRequest {
  let method = '';
  let path: string | undefined;
  let authority: string | undefined;
  let host: string | undefined;
  let cookie: string | undefined;
  let cookieAt = -1;
  let contentLength = -1;
  let contentTypes = 0;
  let expectContinue = false;
  // Host goes first (filled in below, or removed when the request names no host).
  const headers: string[] = ['host', ''];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':authority') authority = value;
      // :scheme says nothing the listener does not know better (wsgi.url_scheme comes from the
      // listener and trusted proxy headers, as for HTTP/1.1); :protocol is refused by nghttp2
      // unless extended CONNECT is enabled, which it is not.
      continue;
    }
    if (CONNECTION_SPECIFIC.has(name)) {
      throw bad(`Connection-specific field in an HTTP/2 request: ${name}`);
    }
    if (
      limits.maxHeaderFieldSize > 0 &&
      name.length + 2 + value.length > limits.maxHeaderFieldSize
    ) {
      throw new ProtocolError(
        'CASK_HTTP_HEADERS_TOO_LARGE',
        `Header field longer than limit-request-field-size: ${name} (${name.length + 2 + value.length} bytes)`,
      );
    }
    switch (name) {
      case 'te':
        if (value.trim().toLowerCase() !== 'trailers') {
          throw bad(`TE other than "trailers" in an HTTP/2 request: ${JSON.stringify(value)}`);
        }
        break;
      case 'host':
        if (host !== undefined) throw bad('Two Host fields in one request');
        host = value;
        continue; // placed first, below
      case 'cookie':
        // RFC 9113 §8.2.3: crumbs sent as separate fields are one Cookie to the application.
        if (cookie === undefined) {
          cookie = value;
          cookieAt = headers.length;
          headers.push(name, value);
        } else cookie += `; ${value}`;
        continue;
      case 'content-length': {
        if (!DIGITS.test(value)) throw bad(`Invalid Content-Length: ${JSON.stringify(value)}`);
        const length = Number(value);
        if (contentLength >= 0 && length !== contentLength) {
          throw bad(`Two different Content-Length values: ${contentLength} and ${length}`);
        }
        contentLength = length;
        break;
      }
      case 'content-type':
        if (++contentTypes > 1) throw bad('Two Content-Type fields in one request');
        break;
      case 'expect':
        expectContinue = value.trim().toLowerCase() === '100-continue';
        break;
    }
    headers.push(name, value);
  }
  if (cookieAt >= 0) headers[cookieAt + 1] = cookie as string;

  if (method === 'CONNECT') {
    throw new ProtocolError('CASK_HTTP_NOT_IMPLEMENTED', `Unsupported method: "CONNECT"`);
  }
  if (method === '' || path === undefined) throw bad('HTTP/2 request without :method or :path');
  if (limits.maxTarget > 0 && path.length > limits.maxTarget) {
    throw new ProtocolError(
      'CASK_HTTP_URI_TOO_LONG',
      `Request :path longer than limit-request-line: ${path.length} bytes`,
    );
  }
  if (path === '*') {
    if (method !== 'OPTIONS') throw bad(`Asterisk-form :path outside OPTIONS: ${method} *`);
  } else if (path.charCodeAt(0) !== 0x2f /* / */ || BAD_TARGET_BYTE.test(path)) {
    throw bad(`Invalid :path: ${JSON.stringify(path)}`);
  }

  if (authority !== undefined && host !== undefined && host !== authority) {
    throw bad(
      `Host differs from :authority: ${JSON.stringify(host)} and ${JSON.stringify(authority)}`,
    );
  }
  const named = authority ?? host ?? '';
  if (!isHost(named)) throw bad(`Invalid :authority or Host: ${JSON.stringify(named)}`);
  // One Host field, first: the app reads HTTP_HOST whichever of the two the client sent.
  if (named === '') headers.splice(0, 2);
  else headers[1] = named;
  if (headers.length / 2 > limits.maxHeaderCount) {
    throw new ProtocolError(
      'CASK_HTTP_HEADERS_TOO_LARGE',
      `More header fields than limit-request-fields: ${headers.length / 2}`,
    );
  }

  if (endStream && contentLength > 0) {
    throw bad(`Request ended without the body its Content-Length announced: ${contentLength}`);
  }
  if (limits.maxBodySize > 0 && contentLength > limits.maxBodySize) {
    throw new ProtocolError(
      'CASK_HTTP_BODY_TOO_LARGE',
      `Request body larger than max-body-size: Content-Length ${contentLength}`,
    );
  }
  return {
    method,
    target: path,
    protocol: 'HTTP/2',
    headers,
    host: named,
    contentLength,
    chunked: !endStream && contentLength < 0,
    expectContinue,
  };
}
