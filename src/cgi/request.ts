// Private to src/cgi: the CGI variables a web server sent (uwsgi, SCGI or FastCGI alike) turned
// into the request every transport delivers (src/exchange.ts), with the HTTP listener's limits.
//
//   variable                          | becomes
//   ----------------------------------+-----------------------------------------------------
//   REQUEST_METHOD                    | method (required, a token)
//   REQUEST_URI                       | target; when absent, built from SCRIPT_NAME, PATH_INFO
//                                     |   and QUERY_STRING, percent-encoded
//   SERVER_PROTOCOL                   | protocol ('HTTP/1.0' when absent)
//   CONTENT_LENGTH                    | contentLength (-1 when empty or absent)
//   CONTENT_TYPE                      | a Content-Type header (when not empty)
//   HTTP_*                            | headers (`HTTP_X_FOO` as `X-Foo`), Host from HTTP_HOST;
//                                     |   HTTP_CONTENT_LENGTH, HTTP_CONTENT_TYPE and
//                                     |   HTTP_TRANSFER_ENCODING are the client's framing,
//                                     |   which the web server already undid: dropped
//   REMOTE_ADDR, REMOTE_PORT          | the exchange's client (the access log's, and who is
//                                     |   asked about forwarded-allow-ips for X-Forwarded-*)
//   SCGI                              | dropped (SCGI's version marker, not the request's)
//   anything else                     | `cgi`, for the environ builder to use as it is
//                                     |   (SCRIPT_NAME, PATH_INFO, QUERY_STRING, SERVER_NAME,
//                                     |   SERVER_PORT, HTTPS, DOCUMENT_ROOT, …); the last of
//                                     |   a repeated name wins, as in uWSGI
//
// Limits, as for HTTP/1.1 (docs/security.md): a target longer than limit-request-line is 414;
// more headers than limit-request-fields, or one longer than limit-request-field-size, 431; a
// CONTENT_LENGTH past max-body-size, 413. A NUL anywhere is 400: the worker link separates
// the environ's strings with NUL (docs/protocol.md).

import { ProtocolError } from '../errors.js';
import type { RequestInfo } from '../exchange.js';
import type { ParserLimits } from '../http/parser.js';
import { percentDecode } from '../wsgi/environ.js';

export interface CgiRequest {
  request: RequestInfo;
  /** REMOTE_ADDR and REMOTE_PORT, undefined when the web server sent none. */
  remoteAddr: string | undefined;
  remotePort: string | undefined;
  /**
   * SCRIPT_NAME is the whole path and no PATH_INFO came: what nginx's stock fastcgi_params send
   * (`$fastcgi_script_name`, PHP's convention), which leaves a WSGI app nothing to route on.
   * The driver warns once; docs/deploy.md gives the two lines that fix it.
   */
  scriptIsWholePath: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What a CGI variable's name may be: letters, digits, `_`, `.` and `-` (Apache's SetEnv). */
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Bytes left as they are when a target is rebuilt from a decoded path (RFC 3986 pchar). */
const PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

const headerNames = new Map<string, string>();
const HEADER_NAMES_MAX = 1024;

/** `HTTP_X_FORWARDED_FOR` -> `X-Forwarded-For`. */
function headerName(key: string): string {
  let name = headerNames.get(key);
  if (name !== undefined) return name;
  name = key
    .slice(5)
    .toLowerCase()
    .replace(
      /(^|_)([a-z])/g,
      (_m, sep: string, c: string) => `${sep === '' ? '' : '-'}${c.toUpperCase()}`,
    )
    .replace(/_/g, '-');
  if (headerNames.size < HEADER_NAMES_MAX) headerNames.set(key, name);
  return name;
}

function badRequest(message: string): ProtocolError {
  return new ProtocolError('CASK_CGI_PROTOCOL', message);
}

/** Whether a request-target holds a control or a space, which RFC 9112 §3.2 forbids. */
function hasControl(target: string): boolean {
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** A path of latin-1 chars (one per byte) percent-encoded where RFC 3986 asks. */
function encodePath(path: string): string {
  let out = '';
  for (const char of path) {
    out += PATH_SAFE.test(char)
      ? char
      : `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function cgiRequest(params: readonly string[], limits: ParserLimits): CgiRequest {
  let method: string | undefined;
  let target: string | undefined;
  let protocol = 'HTTP/1.0';
  let contentLength = -1;
  let contentType = '';
  let host = '';
  let remoteAddr: string | undefined;
  let remotePort: string | undefined;
  const headers: string[] = [];
  const cgi = new Map<string, string>();
  for (let i = 0; i < params.length; i += 2) {
    const key = params[i] as string;
    const value = params[i + 1] as string;
    if (key.includes('\0') || value.includes('\0')) {
      throw badRequest(`Invalid request variable: ${JSON.stringify(key)} holds a NUL byte`);
    }
    if (key.startsWith('HTTP_')) {
      if (
        key === 'HTTP_CONTENT_LENGTH' ||
        key === 'HTTP_CONTENT_TYPE' ||
        key === 'HTTP_TRANSFER_ENCODING'
      )
        continue;
      if (!/^HTTP_[A-Z0-9_]+$/.test(key)) continue;
      const name = headerName(key);
      if (headers.length >= limits.maxHeaderCount * 2) {
        throw new ProtocolError(
          'CASK_HTTP_HEADERS_TOO_LARGE',
          `Too many header fields: more than ${limits.maxHeaderCount}`,
        );
      }
      if (
        limits.maxHeaderFieldSize > 0 &&
        name.length + 2 + value.length > limits.maxHeaderFieldSize
      ) {
        throw new ProtocolError(
          'CASK_HTTP_HEADERS_TOO_LARGE',
          `Header field too large: ${name} is ${name.length + 2 + value.length} bytes`,
        );
      }
      headers.push(name, value);
      if (key === 'HTTP_HOST') host = value;
      continue;
    }
    switch (key) {
      case 'REQUEST_METHOD':
        method = value;
        break;
      case 'REQUEST_URI':
        target = value;
        break;
      case 'SERVER_PROTOCOL':
        if (value !== '') protocol = value;
        break;
      case 'CONTENT_LENGTH':
        if (value === '') contentLength = -1;
        else if (/^\d{1,15}$/.test(value)) contentLength = Number(value);
        else throw badRequest(`Invalid CONTENT_LENGTH: ${JSON.stringify(value)}`);
        break;
      case 'CONTENT_TYPE':
        contentType = value;
        break;
      case 'REMOTE_ADDR':
        remoteAddr = value;
        break;
      case 'REMOTE_PORT':
        remotePort = value;
        break;
      case 'SCGI':
        break;
      default:
        if (VARIABLE.test(key) && !key.startsWith('wsgi.')) cgi.set(key, value);
    }
  }
  if (method === undefined || !TOKEN.test(method)) {
    throw badRequest(`Invalid REQUEST_METHOD: ${JSON.stringify(method ?? null)}`);
  }
  if (target === undefined || target === '') {
    const path = (cgi.get('SCRIPT_NAME') ?? '') + (cgi.get('PATH_INFO') ?? '');
    const query = cgi.get('QUERY_STRING') ?? '';
    target = (encodePath(path) || '/') + (query === '' ? '' : `?${query}`);
  }
  if (hasControl(target) || (target[0] !== '/' && target !== '*')) {
    throw badRequest(`Invalid REQUEST_URI: ${JSON.stringify(target)}`);
  }
  if (limits.maxRequestLine > 0 && target.length > limits.maxRequestLine) {
    throw new ProtocolError(
      'CASK_HTTP_URI_TOO_LONG',
      `Request target too long: ${target.length} bytes, limit-request-line is ${limits.maxRequestLine}`,
    );
  }
  if (limits.maxBodySize > 0 && contentLength > limits.maxBodySize) {
    throw new ProtocolError(
      'CASK_HTTP_BODY_TOO_LARGE',
      `Request body too large: ${contentLength} bytes, max-body-size is ${limits.maxBodySize}`,
    );
  }
  if (contentType !== '') headers.push('Content-Type', contentType);
  const rest: string[] = [];
  for (const [key, value] of cgi) rest.push(key, value);
  const scriptName = cgi.get('SCRIPT_NAME') ?? '';
  const query = target.indexOf('?');
  const scriptIsWholePath =
    scriptName !== '' &&
    scriptName !== '/' &&
    !cgi.has('PATH_INFO') &&
    percentDecode(query === -1 ? target : target.slice(0, query)) === scriptName;
  return {
    request: { method, target, protocol, headers, host, contentLength, chunked: false, cgi: rest },
    remoteAddr,
    remotePort,
    scriptIsWholePath,
  };
}
