// The parser's public types, re-exported by parser.ts (import them from there).

import type { RequestInfo } from '../../exchange.js';

export interface ParserLimits {
  /** Longest request-line, in bytes without its CRLF; longer is a 414. */
  maxRequestLine: number;
  /** Most field lines in the header section (and, separately, in the trailer section); more is a 431. */
  maxHeaderCount: number;
  /** Longest field line, in bytes without its CRLF; longer is a 431. */
  maxHeaderFieldSize: number;
  /** Largest body, counted after de-chunking; larger is a 413. */
  maxBodySize: number;
  /**
   * Largest head: request-line plus field lines, without CRLFs; larger is a 431 (the trailer
   * section gets the same allowance). Defaults to what the other limits already imply,
   * maxRequestLine + maxHeaderCount × maxHeaderFieldSize.
   */
  maxHeadSize?: number;
}

/** An HTTP/1.x request head: the transport-neutral RequestInfo plus what only HTTP/1 has. */
export interface RequestHead extends RequestInfo {
  /** e.g. 'GET' (a token, case-sensitive as sent) */
  method: string;
  /** the request-target exactly as sent (latin1) */
  target: string;
  /** 'HTTP/1.1' or 'HTTP/1.0', as SERVER_PROTOCOL gives it */
  protocol: 'HTTP/1.1' | 'HTTP/1.0';
  versionMinor: 0 | 1;
  /** flat [name, value, name, value, ...]; names as sent, values latin1 without surrounding OWS */
  headers: string[];
  /** -1 when absent or chunked */
  contentLength: number;
  chunked: boolean;
  /** RFC 9112 §9.3: 1.1 persists unless `Connection: close`; 1.0 only with `Connection: keep-alive` */
  keepAlive: boolean;
  /** `Expect: 100-continue` in an HTTP/1.1 request (only meaningful with a body) */
  expectContinue: boolean;
  /**
   * An Upgrade field and the `upgrade` option in Connection (RFC 9110 §7.8): only such a
   * request can ask to switch protocols, so the WebSocket handshake is looked for in no other
   * and the common request pays nothing for it.
   */
  upgrade: boolean;
  /** the Host value ('' if absent in HTTP/1.0), or the authority of an absolute-form target */
  host: string;
}

export type ParserEvent =
  | { type: 'head'; head: RequestHead }
  /** De-chunked body bytes; may be a view into the input, valid until the next push(). */
  | { type: 'body'; chunk: Buffer }
  /** The message is complete (after trailers); the next pipelined request may follow. */
  | { type: 'end' };
