// Private to src/cgi: what the three decoders (uwsgi.ts, scgi.ts, fastcgi.ts) have in common.
// Each is sans-IO: bytes go in with push(), events come out of next(), and a
// ProtocolError is thrown for bytes that break the protocol or a limit. None touches a socket
// or a timer, so the tests feed them golden byte vectors (test/fixtures/proto-vectors) cut at
// every offset.
//
// One request's events, whatever the protocol:
//
//   head (its CGI variables) ─▶ body* ─▶ end
//
// and, from FastCGI only, `abort` (FCGI_ABORT_REQUEST) anywhere after the head's BEGIN, and
// `reply` (bytes the protocol itself asks to send back: management answers, a refused second
// request) at any time. A driver writes a `reply` as it is, without looking at it.

import { ProtocolError } from '../errors.js';

export type WireEvent =
  | {
      type: 'head';
      /** The variables as sent, flat [NAME, VALUE, NAME, VALUE, …], latin-1. */
      params: string[];
      /** FastCGI's FCGI_KEEP_CONN: the connection stays open for the next request. */
      keepConn: boolean;
    }
  /** Body bytes; a view into the input, valid until the next push(). */
  | { type: 'body'; chunk: Buffer }
  | { type: 'end' }
  | { type: 'abort' }
  | { type: 'reply'; bytes: Buffer };

export interface RequestDecoder {
  push(bytes: Buffer): void;
  /** The next event, or null until more bytes come. Throws ProtocolError. */
  next(): WireEvent | null;
  /**
   * The response to the current request is complete: a decoder that carries several requests
   * on one connection (FastCGI) makes ready for the next; the others refuse any more bytes.
   */
  responded(): void;
  /** The current request's id (FastCGI), 0 when none has begun: refusals are addressed to it. */
  readonly requestId: number;
  /** Bytes pushed and not yet decoded. */
  readonly buffered: number;
  /**
   * Bytes of the current request's body known to come next, beyond those held: the next push()
   * of at most this many bytes is body only, and the next() calls that follow hand all of it
   * out. For uwsgi and SCGI, whose body is raw, the rest of the body; for FastCGI, the rest of
   * the current STDIN record's content. 0 when no body bytes are awaited.
   */
  readonly bodyAwaited: number;
}

export interface DecoderLimits {
  /** Most bytes of one request's variables together (names, values and their framing). */
  maxHeadBytes: number;
  /** Most variables in one request. */
  maxParams: number;
}

/**
 * Variables a web server sends besides the request's headers (nginx's uwsgi_params sends 15,
 * Apache with mod_ssl's StdEnvVars several dozen): allowed on top of `limit-request-fields`.
 */
export const SERVER_PARAMS = 128;
/** The longest value counted for a variable when `limit-request-field-size` is 0 (no limit). */
const UNLIMITED_FIELD = 64 * 1024;

/** The decoders' bounds from the HTTP listener's limits (which src/cgi/request.ts applies too). */
export function decoderLimits(limits: {
  maxRequestLine: number;
  maxHeaderCount: number;
  maxHeaderFieldSize: number;
}): DecoderLimits {
  const field = limits.maxHeaderFieldSize > 0 ? limits.maxHeaderFieldSize : UNLIMITED_FIELD;
  const line = limits.maxRequestLine > 0 ? limits.maxRequestLine : 8190;
  const maxParams = limits.maxHeaderCount + SERVER_PARAMS;
  // Every header at its largest, plus the server's own variables, each about a request line.
  return {
    maxHeadBytes: limits.maxHeaderCount * (field + 8) + SERVER_PARAMS * (line + 8),
    maxParams,
  };
}

export function malformed(protocol: string, message: string): ProtocolError {
  return new ProtocolError('CASK_CGI_PROTOCOL', `Malformed ${protocol} request: ${message}`);
}

export function headTooLarge(protocol: string, message: string): ProtocolError {
  return new ProtocolError(
    'CASK_HTTP_HEADERS_TOO_LARGE',
    `${protocol} request variables too large: ${message}`,
  );
}

/** The body length a CGI environ declares: CONTENT_LENGTH, digits only; empty or absent is 0. */
export function declaredLength(params: readonly string[], protocol: string): number {
  let value = '';
  for (let i = 0; i < params.length; i += 2) {
    if (params[i] === 'CONTENT_LENGTH') value = params[i + 1] as string;
  }
  if (value === '') return 0;
  if (!/^\d{1,15}$/.test(value)) {
    throw malformed(protocol, `CONTENT_LENGTH is not a length: ${JSON.stringify(value)}`);
  }
  return Number(value);
}

const EMPTY = Buffer.alloc(0);

/**
 * The input of a decoder: the chunks as they came, never joined on arrival.
 * Only a structure that straddles chunks is copied, once, when it is whole; body bytes go out
 * as views of the chunks they came in.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already taken. */
  private offset = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  /** The byte `index` places ahead, or -1 if not yet here. */
  peek(index: number): number {
    if (index >= this.size) return -1;
    let at = this.offset + index;
    for (const chunk of this.chunks) {
      if (at < chunk.length) return chunk[at] as number;
      at -= chunk.length;
    }
    return -1;
  }

  /** Exactly `n` bytes, or undefined while fewer are here (nothing is consumed then). */
  take(n: number): Buffer | undefined {
    if (n > this.size) return undefined;
    if (n === 0) return EMPTY;
    const first = this.chunks[0] as Buffer;
    if (first.length - this.offset >= n) {
      const view = first.subarray(this.offset, this.offset + n);
      this.skip(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const count = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + count);
      filled += count;
      this.skip(count);
    }
    return out;
  }

  /** Up to `n` bytes from the first chunk, as a view; undefined when nothing is here. */
  takeSome(n: number): Buffer | undefined {
    if (this.size === 0 || n === 0) return undefined;
    const first = this.chunks[0] as Buffer;
    const count = Math.min(n, first.length - this.offset);
    const view = first.subarray(this.offset, this.offset + count);
    this.skip(count);
    return view;
  }

  /** Drops up to `n` bytes (padding); returns how many were here to drop. */
  drop(n: number): number {
    const count = Math.min(n, this.size);
    this.skip(count);
    return count;
  }

  private skip(n: number): void {
    this.size -= n;
    this.offset += n;
    while (this.chunks.length > 0 && this.offset >= (this.chunks[0] as Buffer).length) {
      this.offset -= (this.chunks.shift() as Buffer).length;
    }
  }
}
