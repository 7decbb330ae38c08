// Sans-IO HTTP/1.1 request parser (RFC 9112): bytes go in with push(), events come out of
// next(), and nothing here touches a socket or a timer (style habit 1), so the connection
// driver owns all I/O and every test can feed bytes directly.
//
// States and transitions. Any input not listed is a ProtocolError, after which the parser is
// dead and keeps throwing that error (the driver answers its status and closes).
//
//   state       | input                                        | emits | next state
//   ------------+----------------------------------------------+-------+-----------------------
//   LINE        | CRLF, at most MAX_EMPTY_LINES times (§2.2)   |       | LINE
//   LINE        | request-line CRLF (§3)                       |       | FIELDS
//   FIELDS      | field-line CRLF (§5)                         |       | FIELDS
//   FIELDS      | CRLF; neither Content-Length nor TE, or CL 0 | head  | END
//   FIELDS      | CRLF; Content-Length > 0 (§6.3 item 6)       | head  | LENGTH
//   FIELDS      | CRLF; Transfer-Encoding: chunked (§6.3 i. 4) | head  | CHUNK_SIZE
//   LENGTH      | content bytes; the last of them              | body  | LENGTH; END
//   CHUNK_SIZE  | chunk-size [chunk-ext] CRLF, size > 0 (§7.1) |       | CHUNK_DATA
//   CHUNK_SIZE  | last-chunk: 1*"0" [chunk-ext] CRLF           |       | TRAILERS
//   CHUNK_DATA  | chunk-data bytes; the last of them           | body  | CHUNK_DATA; CHUNK_CRLF
//   CHUNK_CRLF  | CRLF                                         |       | CHUNK_SIZE
//   TRAILERS    | field-line CRLF (§7.1.2; checked, discarded) |       | TRAILERS
//   TRAILERS    | CRLF                                         |       | END
//   END         | nothing                                      | end   | LINE
//
// Lines end in CRLF only. §2.2 lets a recipient accept a bare LF; we answer 400 instead,
// because a proxy in front of us that does not accept it would see a different message
// boundary than we do (request smuggling). A bare CR is invalid in every element (§2.2), which
// the byte classes of bytes.ts enforce, since none of them admits CR.
//
// Buffering (style habit 8): `buf` holds the bytes received and not consumed from `start` on.
// When nothing is held, push() adopts the caller's chunk without copying, which is the whole
// story for a small request arriving in one read. Only when bytes are left over does it copy,
// into `store`, which grows by doubling and is compacted only when its tail is full. `scanned`
// remembers how far the current line was already searched for LF, so a head trickling in one
// byte at a time costs O(n), not O(n²).

import { ProtocolError } from '../errors.js';
import { CR, HOST_CHAR, LF, SP, TARGET_CHAR, TCHAR, badRequest, equalsLower, latin1, shown, skipOws } from './bytes.js';
import {
  CONNECTION_CLOSE,
  CONNECTION_KEEP_ALIVE,
  MAX_CHUNK_SIZE_DIGITS,
  TE_CHUNKED,
  TE_OTHER,
  checkChunkExtensions,
  checkFieldValue,
  chunkSize,
  chunkSizeEnd,
  fieldColon,
  parseContentLength,
  scanConnection,
  scanTransferEncoding,
  trimEnd,
} from './fields.js';
import { checkTarget, versionMinor } from './request-line.js';

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
   * Largest head: request-line plus field lines, without CRLFs; larger is a 431. Defaults to
   * what the other limits already imply (maxRequestLine + maxHeaderCount × maxHeaderFieldSize).
   */
  maxHeadSize?: number;
}

export interface RequestHead {
  method: string;
  target: string;
  versionMinor: 0 | 1;
  headers: string[];
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  expectContinue: boolean;
  host: string;
}

export type ParserEvent =
  | { type: 'head'; head: RequestHead }
  | { type: 'body'; chunk: Buffer }
  | { type: 'end' };

const LINE = 0;
const FIELDS = 1;
const LENGTH = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_CRLF = 5;
const TRAILERS = 6;
const END = 7;
const STATE_NAMES = ['request line', 'header section', 'body', 'chunk size line', 'chunk data', 'chunk data', 'trailer section', 'end'];

/** §2.2 asks to ignore "at least one" empty line before a request-line; a flood of them is not a client bug. */
const MAX_EMPTY_LINES = 8;
/** Chunk extensions are read and ignored, so bound what they may cost per message (cf. Node's CVE-2024-22019). */
const MAX_CHUNK_EXT_BYTES = 16 * 1024;
const MIN_STORE = 4096;
const NEED_MORE = -1;
const TOO_LONG = -2;
const EMPTY = Buffer.alloc(0);
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const END_EVENT: ParserEvent = Object.freeze({ type: 'end' });

export class RequestParser {
  private readonly maxRequestLine: number;
  private readonly maxHeaderCount: number;
  private readonly maxFieldSize: number;
  private readonly maxBodySize: number;
  private readonly maxHeadSize: number;

  private buf: Buffer = EMPTY;
  private start = 0;
  private scanned = 0;
  private store: Buffer | null = null;
  private inStore = false;
  private state = LINE;
  private failure: ProtocolError | null = null;
  // The head decoded by one latin1Slice when it arrived whole: buffer bytes [headFrom, headTo)
  // are the characters of headText, so names and values are cheap String slices of it rather
  // than one native call each. headTo is -1 when there is no such text.
  private headText = '';
  private headFrom = 0;
  private headTo = -1;

  // The message being read.
  private emptyLines = 0;
  private fieldCount = 0;
  private headBytes = 0;
  private method = '';
  private target = '';
  private minor: 0 | 1 = 1;
  private authority: string | null = null;
  private headers: string[] = [];
  private hostCount = 0;
  private host = '';
  private contentLength = -1;
  private contentLengthText: string | null = null;
  private teFlags = 0;
  private connectionFlags = 0;
  private expect = false;
  private remaining = 0;
  private bodyTotal = 0;
  private extBytes = 0;

  constructor(limits: ParserLimits) {
    const { maxRequestLine, maxHeaderCount, maxHeaderFieldSize, maxBodySize } = limits;
    const maxHeadSize = limits.maxHeadSize ?? maxRequestLine + maxHeaderCount * maxHeaderFieldSize;
    for (const [key, value] of Object.entries({ maxRequestLine, maxHeaderCount, maxHeaderFieldSize, maxBodySize, maxHeadSize })) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(`Parser limit must be a non-negative safe integer: ${key} = ${String(value)}`);
      }
    }
    this.maxRequestLine = maxRequestLine;
    this.maxHeaderCount = maxHeaderCount;
    this.maxFieldSize = maxHeaderFieldSize;
    this.maxBodySize = maxBodySize;
    this.maxHeadSize = maxHeadSize;
  }

  /** Bytes held and not yet consumed. */
  get buffered(): number {
    return this.buf.length - this.start;
  }

  /** Appends bytes. Body chunks already returned by next() may be overwritten from here on. */
  push(chunk: Buffer): void {
    if (this.failure !== null || chunk.length === 0) return;
    this.headTo = -1; // bytes may move below
    const end = this.buf.length;
    const held = end - this.start;
    if (held === 0) {
      this.buf = chunk;
      this.start = 0;
      this.store = null;
      this.inStore = false;
      return;
    }
    let store = this.store;
    if (this.inStore && end + chunk.length <= store!.length) {
      chunk.copy(store!, end);
      this.buf = store!.subarray(0, end + chunk.length);
      return;
    }
    const need = held + chunk.length;
    if (store === null || need > store.length) store = this.store = Buffer.allocUnsafe(Math.max(2 * need, MIN_STORE));
    this.buf.copy(store, 0, this.start, end); // may overlap when buf is store: copy() is a memmove
    chunk.copy(store, held);
    this.buf = store.subarray(0, need);
    this.start = 0;
    this.inStore = true;
  }

  /** The next event, or null when more bytes are needed. Throws ProtocolError. */
  next(): ParserEvent | null {
    if (this.failure !== null) throw this.failure;
    try {
      const event = this.step();
      if (event === null && this.start === this.buf.length) this.release();
      return event;
    } catch (err) {
      if (err instanceof ProtocolError) this.fail(err);
      throw err;
    }
  }

  /**
   * The client sent EOF. Quiet between messages (or with only stray CRLFs held); throws a 400
   * ProtocolError when a message was partly received. Call it once next() has returned null.
   */
  finish(): void {
    if (this.failure !== null) throw this.failure;
    if (this.state === END) return;
    if (this.state === LINE) {
      const buf = this.buf;
      let i = this.start;
      while (i < buf.length && (buf[i] === CR || buf[i] === LF)) i++;
      if (i === buf.length) return;
    }
    throw this.fail(badRequest(`Connection closed in the middle of a request: in the ${STATE_NAMES[this.state]!}`));
  }

  private fail(err: ProtocolError): ProtocolError {
    this.failure = err;
    this.release();
    return err;
  }

  private release(): void {
    this.buf = EMPTY;
    this.start = 0;
    this.scanned = 0;
    this.store = null;
    this.inStore = false;
  }

  private step(): ParserEvent | null {
    for (;;) {
      switch (this.state) {
        case LINE: {
          const cr = this.lineEnd(this.maxRequestLine);
          if (cr < 0) {
            if (cr === NEED_MORE) return null;
            throw new ProtocolError(
              'CASK_HTTP_URI_TOO_LONG',
              `Request line is longer than ${this.maxRequestLine} bytes: ${shown(this.buf, this.start, this.buf.length)}`,
            );
          }
          const ls = this.start;
          this.start = cr + 2;
          if (cr === ls) {
            if (++this.emptyLines > MAX_EMPTY_LINES) throw badRequest(`Too many empty lines before a request line: ${this.emptyLines}`);
            continue;
          }
          const headEnd = this.buf.indexOf(CRLFCRLF, cr);
          if (headEnd === -1) {
            this.headTo = -1;
          } else {
            this.headText = latin1(this.buf, ls, headEnd);
            this.headFrom = ls;
            this.headTo = headEnd;
          }
          this.requestLine(ls, cr);
          this.state = FIELDS;
          continue;
        }
        case FIELDS: {
          const cr = this.lineEnd(Math.min(this.maxFieldSize, this.maxHeadSize - this.headBytes));
          if (cr < 0) {
            if (cr === NEED_MORE) return null;
            throw this.tooLarge('header');
          }
          const ls = this.start;
          this.start = cr + 2;
          if (cr === ls) return this.endOfHead();
          this.field(ls, cr);
          continue;
        }
        case LENGTH:
        case CHUNK_DATA: {
          const available = this.buf.length - this.start;
          if (available === 0) return null;
          const n = available < this.remaining ? available : this.remaining;
          const chunk = this.buf.subarray(this.start, this.start + n);
          this.start += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = this.state === LENGTH ? END : CHUNK_CRLF;
          return { type: 'body', chunk };
        }
        case CHUNK_SIZE: {
          const cr = this.lineEnd(MAX_CHUNK_SIZE_DIGITS + MAX_CHUNK_EXT_BYTES - this.extBytes);
          if (cr < 0) {
            if (cr === NEED_MORE) return null;
            throw badRequest(`Chunk extensions exceed ${MAX_CHUNK_EXT_BYTES} bytes in one request: ${shown(this.buf, this.start, this.buf.length)}`);
          }
          this.chunkLine(this.start, cr);
          continue;
        }
        case CHUNK_CRLF: {
          const buf = this.buf;
          const available = buf.length - this.start;
          if (available >= 2 && buf[this.start] === CR && buf[this.start + 1] === LF) {
            this.start += 2;
            this.state = CHUNK_SIZE;
            continue;
          }
          if (available >= 2 || (available === 1 && buf[this.start] !== CR)) {
            throw badRequest(`Chunk data is not followed by CRLF: ${shown(buf, this.start, Math.min(buf.length, this.start + 16))}`);
          }
          return null;
        }
        case TRAILERS: {
          const cr = this.lineEnd(Math.min(this.maxFieldSize, this.maxHeadSize - this.headBytes));
          if (cr < 0) {
            if (cr === NEED_MORE) return null;
            throw this.tooLarge('trailer');
          }
          const ls = this.start;
          this.start = cr + 2;
          if (cr === ls) this.state = END;
          else this.trailer(ls, cr);
          continue;
        }
        default:
          this.state = LINE;
          this.emptyLines = 0;
          return END_EVENT;
      }
    }
  }

  /**
   * Index of the CR ending the line that starts at `start`; NEED_MORE when no LF is held yet;
   * TOO_LONG as soon as the line, without CRLF, is known to exceed `limit` bytes. Length is
   * checked before the line ending, so the outcome is the same however the bytes were split.
   */
  private lineEnd(limit: number): number {
    const buf = this.buf;
    const start = this.start;
    const lf = buf.indexOf(LF, start + this.scanned);
    if (lf === -1) {
      const seen = buf.length - start;
      this.scanned = seen;
      const atLeast = seen > 0 && buf[buf.length - 1] === CR ? seen - 1 : seen;
      return atLeast > limit ? TOO_LONG : NEED_MORE;
    }
    this.scanned = 0;
    const hasCr = lf > start && buf[lf - 1] === CR;
    if ((hasCr ? lf - 1 : lf) - start > limit) return TOO_LONG;
    if (!hasCr) throw badRequest(`Line ends in a bare LF: ${shown(buf, start, lf)}`);
    return lf - 1;
  }

  private tooLarge(section: 'header' | 'trailer'): ProtocolError {
    const lineBound = this.maxFieldSize <= this.maxHeadSize - this.headBytes;
    const what = lineBound
      ? `A ${section} field line is longer than ${this.maxFieldSize} bytes`
      : `The ${section} section is larger than ${this.maxHeadSize} bytes`;
    return new ProtocolError('CASK_HTTP_HEADERS_TOO_LARGE', `${what}: ${shown(this.buf, this.start, this.buf.length)}`);
  }

  /** Bytes [start, end) of the head as a string. */
  private text(start: number, end: number): string {
    if (end <= this.headTo) return this.headText.slice(start - this.headFrom, end - this.headFrom);
    return latin1(this.buf, start, end);
  }

  /** request-line = method SP request-target SP HTTP-version (RFC 9112 §3), strictly. */
  private requestLine(ls: number, cr: number): void {
    const buf = this.buf;
    let i = ls;
    while (i < cr && TCHAR[buf[i]!] === 1) i++;
    if (i === ls || buf[i] !== SP) throw badRequest(`Invalid request method: ${shown(buf, ls, cr)}`);
    const me = i;
    const ts = ++i;
    while (i < cr && TARGET_CHAR[buf[i]!] === 1) i++;
    if (i === ts || buf[i] !== SP) throw badRequest(`Invalid request target: ${shown(buf, ls, cr)}`);
    this.minor = versionMinor(buf, i + 1, cr);
    this.method = methodName(buf, ls, me);
    this.target = this.text(ts, i);
    this.authority = buf[ts] === 0x2f && this.method !== 'CONNECT' ? null : checkTarget(this.method, this.target);
    this.headBytes = cr - ls;
    this.fieldCount = 0;
    this.headers = [];
    this.hostCount = 0;
    this.host = '';
    this.contentLength = -1;
    this.contentLengthText = null;
    this.teFlags = 0;
    this.connectionFlags = 0;
    this.expect = false;
  }

  private field(ls: number, cr: number): void {
    if (++this.fieldCount > this.maxHeaderCount) {
      throw new ProtocolError('CASK_HTTP_HEADERS_TOO_LARGE', `Request has more than ${this.maxHeaderCount} header fields: ${shown(this.buf, ls, cr)}`);
    }
    this.headBytes += cr - ls;
    const buf = this.buf;
    const colon = fieldColon(buf, ls, cr);
    const vs = skipOws(buf, colon + 1, cr);
    const ve = trimEnd(buf, vs, cr);
    checkFieldValue(buf, vs, ve, ls);
    const value = this.text(vs, ve);
    this.headers.push(this.text(ls, colon), value);
    // Only the fields that frame the message or that the driver needs are looked at; switching
    // on the name's length first keeps the common case to one compare.
    switch (colon - ls) {
      case 4:
        if (!equalsLower(buf, ls, colon, 'host')) return;
        // RFC 9112 §3.2: more than one Host, or an invalid one, is a 400.
        if (++this.hostCount > 1) throw badRequest(`Duplicate Host header: ${shown(buf, ls, cr)}`);
        for (let i = vs; i < ve; i++) {
          if (HOST_CHAR[buf[i]!] === 0) throw badRequest(`Invalid Host header: ${shown(buf, ls, cr)}`);
        }
        this.host = value;
        return;
      case 6:
        // RFC 9110 §10.1.1: the only expectation defined; others are ignored rather than
        // answered with 417, as §10.1.1 allows.
        if (equalsLower(buf, ls, colon, 'expect') && equalsLower(buf, vs, ve, '100-continue')) this.expect = true;
        return;
      case 10:
        if (equalsLower(buf, ls, colon, 'connection')) this.connectionFlags = scanConnection(buf, vs, ve, this.connectionFlags);
        return;
      case 14: {
        if (!equalsLower(buf, ls, colon, 'content-length')) return;
        const n = parseContentLength(buf, vs, ve);
        // RFC 9112 §6.3 item 5: differing values are unrecoverable; identical repeats are harmless.
        if (this.contentLengthText !== null && this.contentLengthText !== value) {
          throw badRequest(`Conflicting Content-Length values: ${JSON.stringify(`${this.contentLengthText}, ${value}`)}`);
        }
        this.contentLengthText = value;
        this.contentLength = n;
        return;
      }
      case 17:
        if (equalsLower(buf, ls, colon, 'transfer-encoding')) this.teFlags = scanTransferEncoding(buf, vs, ve, this.teFlags);
        return;
    }
  }

  private endOfHead(): ParserEvent {
    const minor = this.minor;
    if (minor === 1 && this.hostCount === 0) {
      throw badRequest(`Missing Host header in an HTTP/1.1 request: ${JSON.stringify(this.target)}`);
    }
    let chunked = false;
    let length = this.contentLength;
    if (this.teFlags !== 0) {
      const te = JSON.stringify(this.fieldValues('transfer-encoding'));
      // RFC 9112 §6.1: TE in HTTP/1.0 means the framing is faulty (1.0 has no chunked coding).
      if (minor === 0) throw badRequest(`Transfer-Encoding in an HTTP/1.0 request: ${te}`);
      // §6.1 lets Transfer-Encoding override Content-Length, but a server that may sit behind
      // a proxy must not guess which of the two the proxy used: both at once is the classic
      // request-smuggling shape, so refuse it.
      if (this.contentLengthText !== null) throw badRequest(`Both Transfer-Encoding and Content-Length: ${te}`);
      // §6.3 item 4: without chunked as the final coding the length cannot be known.
      if ((this.teFlags & TE_CHUNKED) === 0) throw badRequest(`Transfer-Encoding does not end with chunked: ${te}`);
      if ((this.teFlags & TE_OTHER) !== 0) throw new ProtocolError('CASK_HTTP_NOT_IMPLEMENTED', `Unsupported transfer coding: ${te}`);
      chunked = true;
      length = -1;
    } else if (length > this.maxBodySize) {
      throw new ProtocolError('CASK_HTTP_BODY_TOO_LARGE', `Content-Length exceeds ${this.maxBodySize} bytes: ${this.contentLengthText!}`);
    }
    const connection = this.connectionFlags;
    const head: RequestHead = {
      method: this.method,
      target: this.target,
      versionMinor: minor,
      headers: this.headers,
      contentLength: length,
      chunked,
      // RFC 9112 §9.3: persistent by default in 1.1; in 1.0 only when the client asked.
      keepAlive:
        minor === 1
          ? (connection & CONNECTION_CLOSE) === 0
          : (connection & (CONNECTION_CLOSE | CONNECTION_KEEP_ALIVE)) === CONNECTION_KEEP_ALIVE,
      // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request must be ignored.
      expectContinue: this.expect && minor === 1,
      // RFC 9112 §3.2.2: with an absolute-form target, its authority replaces Host.
      host: this.authority ?? this.host,
    };
    this.headTo = -1;
    this.headText = '';
    this.bodyTotal = 0;
    this.extBytes = 0;
    this.remaining = length;
    this.state = chunked ? CHUNK_SIZE : length > 0 ? LENGTH : END;
    return { type: 'head', head };
  }

  private chunkLine(ls: number, cr: number): void {
    const buf = this.buf;
    this.start = cr + 2;
    const end = chunkSizeEnd(buf, ls, cr);
    if (end < cr) {
      checkChunkExtensions(buf, end, cr, ls);
      this.extBytes += cr - end;
      if (this.extBytes > MAX_CHUNK_EXT_BYTES) {
        throw badRequest(`Chunk extensions exceed ${MAX_CHUNK_EXT_BYTES} bytes in one request: ${shown(buf, ls, cr)}`);
      }
    }
    const size = chunkSize(buf, ls, end);
    if (size === 0) {
      this.state = TRAILERS;
      this.fieldCount = 0;
      this.headBytes = 0;
      return;
    }
    if (size > this.maxBodySize - this.bodyTotal) {
      throw new ProtocolError('CASK_HTTP_BODY_TOO_LARGE', `Chunked body exceeds ${this.maxBodySize} bytes: ${shown(buf, ls, cr)}`);
    }
    this.bodyTotal += size;
    this.remaining = size;
    this.state = CHUNK_DATA;
  }

  /** A trailer field is checked by the header rules, counted against the same limits, and dropped. */
  private trailer(ls: number, cr: number): void {
    if (++this.fieldCount > this.maxHeaderCount) {
      throw new ProtocolError('CASK_HTTP_HEADERS_TOO_LARGE', `Request has more than ${this.maxHeaderCount} trailer fields: ${shown(this.buf, ls, cr)}`);
    }
    this.headBytes += cr - ls;
    const colon = fieldColon(this.buf, ls, cr);
    const vs = skipOws(this.buf, colon + 1, cr);
    checkFieldValue(this.buf, vs, trimEnd(this.buf, vs, cr), ls);
  }

  /** Values of every field named `lower`, joined as a list (error messages only). */
  private fieldValues(lower: string): string {
    const values: string[] = [];
    for (let i = 0; i < this.headers.length; i += 2) {
      if (this.headers[i]!.toLowerCase() === lower) values.push(this.headers[i + 1]!);
    }
    return values.join(', ');
  }
}

/** The method as a string, without a native call for the most common ones. */
function methodName(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  const c = buf[start];
  if (n === 3 && c === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (n === 4 && c === 0x50 && buf[start + 1] === 0x4f && buf[start + 2] === 0x53 && buf[start + 3] === 0x54) return 'POST';
  if (n === 4 && c === 0x48 && buf[start + 1] === 0x45 && buf[start + 2] === 0x41 && buf[start + 3] === 0x44) return 'HEAD';
  return latin1(buf, start, end);
}
