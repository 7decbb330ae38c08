// Sans-IO HTTP/1.1 request parser (RFC 9112): bytes go in with push(), events come out of
// next(), and nothing here touches a socket or a timer, so the connection
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
// After finish() (EOF from the client), running out of bytes anywhere but in LINE with only
// CRLFs held is a 400: the message was cut short.
//
// Lines end in CRLF only (see h1/receive.ts), and a bare CR is invalid in every element (§2.2),
// which the byte classes of h1/bytes.ts enforce, since none of them admits CR.
//
// Two ways through a head: when it is already whole in the buffer, h1/scan.ts checks it in one
// pass and it is decoded with one native call; otherwise (or if that pass has any doubt) it is
// read line by line below, which is the reference behaviour for every input.

import { ProtocolError } from '../errors.js';
import {
  CR,
  HASH,
  LF,
  SP,
  TARGET_CHAR,
  TCHAR,
  badRequest,
  latin1,
  shown,
  skipOws,
} from './h1/bytes.js';
import {
  MAX_CHUNK_SIZE_DIGITS,
  checkChunkExtensions,
  checkFieldValue,
  chunkSize,
  chunkSizeEnd,
  fieldColon,
  trimEnd,
} from './h1/fields.js';
import { HeadBuilder } from './h1/message.js';
import { NEED_MORE, ReceiveBuffer } from './h1/receive.js';
import { methodName, versionMinor } from './h1/request-line.js';
import { found, scanFields, scanHead } from './h1/scan.js';
import type { ParserEvent, ParserLimits } from './h1/types.js';

export type { ParserEvent, ParserLimits, RequestHead } from './h1/types.js';

const LINE = 0;
const FIELDS = 1;
const LENGTH = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_CRLF = 5;
const TRAILERS = 6;
const END = 7;
const STATE_NAMES = [
  'request line',
  'header section',
  'body',
  'chunk size line',
  'chunk data',
  'chunk data',
  'trailer section',
  'end',
];

/** §2.2 asks to ignore "at least one" empty line before a request-line; a flood of them is not a client bug. */
const MAX_EMPTY_LINES = 8;
/** Chunk extensions are read and ignored, so bound what they may cost per message (cf. Node's CVE-2024-22019). */
const MAX_CHUNK_EXT_BYTES = 16 * 1024;
const END_EVENT: ParserEvent = Object.freeze({ type: 'end' });

export class RequestParser extends ReceiveBuffer {
  private readonly maxRequestLine: number;
  private readonly maxHeaderCount: number;
  private readonly maxFieldSize: number;
  private readonly maxBodySize: number;
  private readonly maxHeadSize: number;
  private readonly message = new HeadBuilder();

  private state = LINE;
  private failure: ProtocolError | null = null;
  /** finish() was called: running out of bytes inside a message is now an error. */
  private eof = false;
  /** The last next() returned null and nothing was pushed since: every held byte was looked at. */
  private starved = false;

  // Counters of the message being read.
  private emptyLines = 0;
  private fieldCount = 0;
  private headBytes = 0;
  private remaining = 0;
  private bodyTotal = 0;
  private extBytes = 0;

  constructor(limits: ParserLimits) {
    super();
    const { maxRequestLine, maxHeaderCount, maxHeaderFieldSize, maxBodySize } = limits;
    const maxHeadSize = limits.maxHeadSize ?? maxRequestLine + maxHeaderCount * maxHeaderFieldSize;
    checkLimit('maxRequestLine', maxRequestLine);
    checkLimit('maxHeaderCount', maxHeaderCount);
    checkLimit('maxHeaderFieldSize', maxHeaderFieldSize);
    checkLimit('maxBodySize', maxBodySize);
    checkLimit('maxHeadSize', maxHeadSize);
    this.maxRequestLine = maxRequestLine;
    this.maxHeaderCount = maxHeaderCount;
    this.maxFieldSize = maxHeaderFieldSize;
    this.maxBodySize = maxBodySize;
    this.maxHeadSize = maxHeadSize;
  }

  override push(chunk: Buffer): void {
    this.starved = false;
    super.push(chunk);
  }

  /**
   * Bytes of a Content-Length body still to come beyond those held: the next push() of up to
   * this many bytes is body only, and the next() calls that follow consume all of it. 0 when
   * not inside such a body.
   */
  get bodyAwaited(): number {
    return this.state === LENGTH ? this.remaining - this.buffered : 0;
  }

  /** The next event, or null when more bytes are needed. Throws ProtocolError. */
  next(): ParserEvent | null {
    if (this.failure !== null) throw this.failure;
    try {
      const event = this.step();
      if (event === null) {
        if (this.eof && !this.betweenMessages()) throw this.cutShort();
        this.starved = true;
        if (this.start === this.buf.length) this.release();
      }
      return event;
    } catch (err) {
      if (err instanceof ProtocolError) this.fail(err);
      throw err;
    }
  }

  /**
   * Between requests, with nothing held: lets go of the last request's bytes. The last next()
   * returned its `end` and was not called again (the response went first), so without this an
   * idle keep-alive connection would keep the buffer that request arrived in, a few hundred
   * bytes to a few kilobytes per connection.
   */
  settle(): void {
    if (this.state === LINE && this.start === this.buf.length && this.buf.length > 0) {
      this.release();
    }
  }

  /** Between messages, nothing held, neither failed nor at EOF: as good as a new parser. */
  get pristine(): boolean {
    return (
      this.state === LINE &&
      this.buf.length === 0 &&
      this.failure === null &&
      !this.eof &&
      this.emptyLines === 0
    );
  }

  /**
   * The client sent EOF. Quiet between messages (stray CRLFs aside); throws a 400 ProtocolError
   * when a message is known to be cut short. Events for bytes not pulled yet can still be
   * pulled with next(), which throws that 400 if it reaches the cut instead of a message end.
   */
  finish(): void {
    if (this.failure !== null) throw this.failure;
    this.eof = true;
    if (this.starved && !this.betweenMessages()) throw this.fail(this.cutShort());
  }

  /** Whether no message is under way: only CRLFs (§2.2) are held before the next request-line. */
  private betweenMessages(): boolean {
    if (this.state !== LINE) return false;
    const buf = this.buf;
    let i = this.start;
    while (i < buf.length && (buf[i] === CR || buf[i] === LF)) i++;
    return i === buf.length;
  }

  private cutShort(): ProtocolError {
    const where = STATE_NAMES[this.state]!;
    return badRequest(`Connection closed in the middle of a request: in the ${where}`);
  }

  private fail(err: ProtocolError): ProtocolError {
    this.failure = err;
    this.closed = true;
    this.release();
    return err;
  }

  private step(): ParserEvent | null {
    for (;;) {
      switch (this.state) {
        case LINE: {
          if (this.scanned === 0 && this.tryFast) {
            const event = this.wholeHead();
            if (event !== null) return event;
          }
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
            if (++this.emptyLines > MAX_EMPTY_LINES) {
              throw badRequest(`Too many empty lines before a request line: ${this.emptyLines}`);
            }
            continue;
          }
          this.requestLine(ls, cr);
          this.state = FIELDS;
          continue;
        }
        case FIELDS: {
          if (this.scanned === 0 && this.tryFast) {
            const event = this.restOfHead();
            if (event !== null) return event;
          }
          const cr = this.lineEnd(Math.min(this.maxFieldSize, this.maxHeadSize - this.headBytes));
          if (cr < 0) {
            if (cr === NEED_MORE) return null;
            throw this.tooLarge('header');
          }
          const ls = this.start;
          this.start = cr + 2;
          if (cr === ls) return this.endOfHead();
          this.fieldLine(ls, cr, true);
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
            throw this.extensionsTooLong(this.buf.length);
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
            const shownEnd = Math.min(buf.length, this.start + 16);
            throw badRequest(
              `Chunk data is not followed by CRLF: ${shown(buf, this.start, shownEnd)}`,
            );
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
          else this.fieldLine(ls, cr, false);
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
   * The fast path (h1/scan.ts) at a request-line: the head event if a whole, plainly valid head
   * is held, else null. Giving up clears tryFast until more bytes come, so that a head that
   * is not complete yet is not rescanned at every line: each push() costs one attempt at most.
   */
  private wholeHead(): ParserEvent | null {
    const buf = this.buf;
    const ls = this.start;
    // An empty line first: let the line-by-line path skip it, then try again.
    if (ls >= buf.length || buf[ls] === CR) return null;
    const max = this.maxHeaderCount;
    const n = scanHead(buf, ls, this.maxRequestLine, this.maxFieldSize, max, this.maxHeadSize);
    if (n < 0) {
      this.tryFast = false;
      return null;
    }
    const methodEnd = found[0]!;
    const targetEnd = found[1]!;
    this.decode(ls, found[3]!);
    const target = this.slice(methodEnd + 1, targetEnd);
    this.message.begin(
      methodName(buf, ls, methodEnd),
      target,
      found[2] as 0 | 1,
      buf[methodEnd + 1] === 0x2f,
    );
    return this.recordFound(n);
  }

  /** The fast path in the header section: the rest of a head that was split across reads. */
  private restOfHead(): ParserEvent | null {
    const left = this.maxHeaderCount - this.fieldCount;
    const n = scanFields(
      this.buf,
      this.start,
      this.headBytes,
      this.maxFieldSize,
      left,
      this.maxHeadSize,
    );
    if (n < 0) {
      this.tryFast = false;
      return null;
    }
    this.decode(this.start, found[3]!);
    return this.recordFound(n);
  }

  /** Hands the `n` fields scanFields() found to the message, then ends the head. */
  private recordFound(n: number): ParserEvent {
    const buf = this.buf;
    const message = this.message;
    for (let k = 0, o = 4; k < n; k++, o += 4) {
      const ns = found[o]!;
      const colon = found[o + 1]!;
      const vs = found[o + 2]!;
      const ve = found[o + 3]!;
      message.field(buf, ns, colon, vs, ve, this.slice(ns, colon), this.slice(vs, ve));
    }
    this.start = found[3]! + 2;
    return this.endOfHead();
  }

  /** request-line = method SP request-target SP HTTP-version (RFC 9112 §3), strictly. */
  private requestLine(ls: number, cr: number): void {
    const buf = this.buf;
    let i = ls;
    while (i < cr && TCHAR[buf[i]!] === 1) i++;
    if (i === ls || buf[i] !== SP) {
      throw badRequest(`Invalid request method: ${shown(buf, ls, cr)}`);
    }
    const methodEnd = i;
    const ts = ++i;
    while (i < cr && TARGET_CHAR[buf[i]!] === 1) i++;
    if (buf[i] === HASH) {
      throw badRequest(`Fragment in a request target: ${shown(buf, ls, cr)}`);
    }
    if (i === ts || buf[i] !== SP) {
      throw badRequest(`Invalid request target: ${shown(buf, ls, cr)}`);
    }
    const minor = versionMinor(buf, i + 1, cr);
    this.message.begin(methodName(buf, ls, methodEnd), latin1(buf, ts, i), minor, buf[ts] === 0x2f);
    this.headBytes = cr - ls;
    this.fieldCount = 0;
  }

  /**
   * Field line [ls, cr) of the header section (`header`) or of the trailer section, checked
   * by the same rules and counted against the same limits. Trailer fields are then dropped:
   * nothing downstream asks for them, and merging them into the head is what RFC 9110 §6.5.1
   * warns against.
   */
  private fieldLine(ls: number, cr: number, header: boolean): void {
    if (++this.fieldCount > this.maxHeaderCount) {
      const section = header ? 'header' : 'trailer';
      throw new ProtocolError(
        'CASK_HTTP_HEADERS_TOO_LARGE',
        `Request has more than ${this.maxHeaderCount} ${section} fields: ${shown(this.buf, ls, cr)}`,
      );
    }
    this.headBytes += cr - ls;
    const buf = this.buf;
    const colon = fieldColon(buf, ls, cr);
    const vs = skipOws(buf, colon + 1, cr);
    const ve = trimEnd(buf, vs, cr);
    checkFieldValue(buf, vs, ve, ls);
    if (!header) return;
    this.decode(ls, ve);
    this.message.field(buf, ls, colon, vs, ve, this.slice(ls, colon), this.slice(vs, ve));
  }

  private endOfHead(): ParserEvent {
    const head = this.message.head(this.maxBodySize);
    this.forget();
    this.bodyTotal = 0;
    this.extBytes = 0;
    this.remaining = head.contentLength;
    this.state = head.chunked ? CHUNK_SIZE : head.contentLength > 0 ? LENGTH : END;
    return { type: 'head', head };
  }

  private chunkLine(ls: number, cr: number): void {
    const buf = this.buf;
    this.start = cr + 2;
    const end = chunkSizeEnd(buf, ls, cr);
    if (end < cr) {
      checkChunkExtensions(buf, end, cr, ls);
      this.extBytes += cr - end;
      if (this.extBytes > MAX_CHUNK_EXT_BYTES) throw this.extensionsTooLong(cr, ls);
    }
    const size = chunkSize(buf, ls, end);
    if (size === 0) {
      this.state = TRAILERS;
      this.fieldCount = 0;
      this.headBytes = 0;
      return;
    }
    if (size > this.maxBodySize - this.bodyTotal) {
      throw new ProtocolError(
        'CASK_HTTP_BODY_TOO_LARGE',
        `Chunked body exceeds ${this.maxBodySize} bytes: ${shown(buf, ls, cr)}`,
      );
    }
    this.bodyTotal += size;
    this.remaining = size;
    this.state = CHUNK_DATA;
  }

  private extensionsTooLong(end: number, ls = this.start): ProtocolError {
    return badRequest(
      `Chunk extensions exceed ${MAX_CHUNK_EXT_BYTES} bytes in one request: ${shown(this.buf, ls, end)}`,
    );
  }

  private tooLarge(section: 'header' | 'trailer'): ProtocolError {
    const what =
      this.maxFieldSize <= this.maxHeadSize - this.headBytes
        ? `A ${section} field line is longer than ${this.maxFieldSize} bytes`
        : `The ${section} section is larger than ${this.maxHeadSize} bytes`;
    return new ProtocolError(
      'CASK_HTTP_HEADERS_TOO_LARGE',
      `${what}: ${shown(this.buf, this.start, this.buf.length)}`,
    );
  }
}

function checkLimit(key: keyof ParserLimits, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Parser limit must be a non-negative safe integer: ${key} = ${value}`);
  }
}

/**
 * Parsers of connections between requests, lent to the next connection that receives bytes,
 * so an idle keep-alive connection holds none: a parser with its head builder is about 400
 * bytes, 4 MB across 10,000 idle connections. Under load a connection takes one from here
 * rather than allocating it. One pool per set of limits (one per front).
 */
export class ParserPool {
  private readonly free: RequestParser[] = [];

  constructor(
    private readonly limits: ParserLimits,
    private readonly max = 1024,
  ) {}

  take(): RequestParser {
    return this.free.pop() ?? new RequestParser(this.limits);
  }

  /** Takes a parser back if it is as good as new (settle() first); any other is left to GC. */
  give(parser: RequestParser): void {
    if (this.free.length < this.max && parser.pristine) this.free.push(parser);
  }
}
