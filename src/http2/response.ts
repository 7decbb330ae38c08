// Private to src/http2: the ResponseSink of one HTTP/2 stream. The same duties as the HTTP/1.1
// writer (src/http/response.ts) — hold the app to the length it declared, add `Server` (node:http2
// adds `Date`), no body for HEAD/204/205/304, stream files with backpressure, credit the app as
// soon as its bytes are in hand — with HTTP/2's framing: a HEADERS frame from `respond()`, DATA
// frames as the stream's flow-control window opens, and RST_STREAM where HTTP/1.1 would cut the
// connection, so one broken response never takes the other streams down with it.
//
// Where bytes wait for a client slower than the app is the same spool as HTTP/1.1's
// (src/http/response-spool.ts): at most MEMORY_MARK (256 KiB) per stream in memory while the
// front's memory budget has room (else FLOOR, 16 KiB), the rest in a temporary file under the
// front's global ledger.

import { read } from 'node:fs';
import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Flushed, ResponseSink } from '../exchange.js';
import { reasonPhrase } from '../http/canned.js';
import {
  FLOOR,
  filePiece,
  ResponseSpool,
  type SpoolPolicy,
  type SpoolTarget,
} from '../http/response-spool.js';

const FILE_CHUNK = 256 * 1024;
/**
 * Writes to a stream are cut to this size, one DATA frame at the default SETTINGS_MAX_FRAME_SIZE
 * (RFC 9113 §6.5.2). A write completes only once all its bytes went out as the client's window
 * allowed, and the send timeout watches writes complete (session.ts): a client that takes 16 KiB
 * per `send-timeout` is still taking its response, whatever the size of the app's chunks.
 */
export const PIECE = 16 * 1024;

/**
 * Fields about one HTTP/1.1 connection, which RFC 9113 §8.2.2 forbids in HTTP/2 (node:http2
 * throws on them): an app written for HTTP/1.1 may well send one, and it means nothing here.
 */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
]);

const DIGITS = /^\d{1,15}$/;

/** The stream as the spool sees it: every write cut into PIECE-sized ones. */
class StreamOut implements SpoolTarget {
  constructor(private readonly stream: ServerHttp2Stream) {}

  write(bytes: Buffer, done?: () => void): boolean {
    const stream = this.stream;
    if (bytes.length <= PIECE)
      return done === undefined ? stream.write(bytes) : stream.write(bytes, done);
    let more = true;
    stream.cork();
    for (let at = 0; at < bytes.length; at += PIECE) {
      const piece = bytes.subarray(at, Math.min(at + PIECE, bytes.length));
      const last = at + PIECE >= bytes.length;
      more = last && done !== undefined ? stream.write(piece, done) : stream.write(piece);
    }
    stream.uncork();
    return more;
  }

  get writableLength(): number {
    return this.stream.writableLength;
  }

  get writableCorked(): number {
    return this.stream.writableCorked;
  }

  get writableNeedDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  get writableHighWaterMark(): number {
    return this.stream.writableHighWaterMark;
  }

  uncork(): void {
    this.stream.uncork();
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  on(event: 'drain', listener: () => void): this {
    this.stream.on(event, listener);
    return this;
  }

  once(event: 'drain' | 'close', listener: () => void): this {
    this.stream.once(event, listener);
    return this;
  }

  off(event: 'drain' | 'close', listener: () => void): this {
    this.stream.off(event, listener);
    return this;
  }
}

/**
 * A canned error response on a stream (the body of the HTTP/1.1 one: "413 Content Too Large");
 * 503 says `Retry-After: 1`. Returns false if the stream could not take it (already gone).
 */
export function respondCanned(
  stream: ServerHttp2Stream,
  status: number,
  serverHeader: string,
  head: boolean,
): boolean {
  if (stream.destroyed || stream.closed || stream.headersSent) return false;
  try {
    const body = Buffer.from(`${status} ${reasonPhrase(status)}\n`, 'latin1');
    const fields: OutgoingHttpHeaders = {
      ':status': status,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': body.length,
    };
    if (status === 503) fields['retry-after'] = '1';
    if (serverHeader) fields.server = serverHeader;
    stream.respond(fields, { endStream: head });
    if (!head) stream.end(body);
    return true;
  } catch {
    return false;
  }
}

/**
 * RST_STREAM with `code`, with no END_STREAM ahead of it. node:http2's `stream.close(code)` ends
 * the writable side before it resets (closeStream in lib/internal/http2/core.js): when all that
 * was written has already gone out, that end at once sends an empty DATA frame with END_STREAM,
 * the stream is closed, and the reset is dropped — the client takes a cut response for a whole
 * one. Measured on Node 20.20: a response without Content-Length cut by `--timeout` arrived as a
 * clean END_STREAM, rstCode 0. With `_final` (which sends that END_STREAM) made a no-op for this
 * stream, the end sends nothing and the client sees the reset.
 */
export function resetStream(stream: ServerHttp2Stream, code: number): void {
  if (stream.destroyed) return;
  if (!stream.closed) stream._final = (callback) => callback();
  stream.close(code);
}

export interface StreamResponseOptions {
  isHead: boolean;
  serverHeader: string;
  /** How much of the response may wait in the front for a slow client; none if undefined. */
  spool: SpoolPolicy | undefined;
}

/** The HTTP/2 response sink of one exchange. */
export class StreamResponse implements ResponseSink {
  status = 0;
  bytesSent = 0;
  headSent = false;
  finished = false;
  private bodyAllowed = true;
  private remaining = -1;
  private overflowed = false;
  private fileBusy = false;
  private backlog: Array<() => void> = [];
  private readonly out: StreamOut;
  /** Made when a response first outruns its client (most responses never need one). */
  private spool: ResponseSpool | undefined;
  /** The response ended while the spool still held bytes: end the stream once it is sent. */
  private endSpooled = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly opts: StreamResponseOptions,
    private readonly onDone: (response: StreamResponse) => void,
    private readonly onAppError: (message: string) => void,
  ) {
    this.out = new StreamOut(stream);
    // What waits behind a file or the spool when the client leaves: data is dropped (and
    // credited), files are closed (file() closes each once the stream is gone).
    stream.once('close', () => this.runBacklog());
  }

  head(status: string, headers: string[], body: Buffer, end: boolean, flushed?: Flushed): void {
    if (this.finished) return;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) {
      // The client left (reset the stream) meanwhile: the exchange already knows; just credit.
      this.headSent = true;
      this.gone(body, end, flushed);
      return;
    }
    const code = Number.parseInt(status, 10);
    const fields: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
    fields[':status'] = code;
    let contentLength = -1;
    let hasServer = false;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = (headers[i] as string).toLowerCase();
      const value = headers[i + 1] as string;
      if (CONNECTION_SPECIFIC.has(name) || name.charCodeAt(0) === 0x3a /* : */) continue;
      if (name === 'content-length') {
        if (!DIGITS.test(value) || (contentLength >= 0 && Number(value) !== contentLength)) {
          this.fail(500);
          this.onAppError(`Invalid Content-Length from the app: ${JSON.stringify(value)}`);
          return;
        }
        contentLength = Number(value);
        continue;
      }
      if (name === 'server') hasServer = true;
      const before = fields[name];
      if (before === undefined) fields[name] = value;
      else if (Array.isArray(before)) before.push(value);
      else fields[name] = [String(before), value];
    }
    this.bodyAllowed = !(this.opts.isHead || code === 204 || code === 205 || code === 304);
    if (contentLength >= 0) {
      fields['content-length'] = String(contentLength);
      if (this.bodyAllowed) this.remaining = contentLength;
    } else if (this.bodyAllowed && end) {
      // The whole body is in hand: give it a length.
      fields['content-length'] = String(body.length);
    }
    if (!hasServer && this.opts.serverHeader) fields.server = this.opts.serverHeader;
    const endStream = !this.bodyAllowed || (end && body.length === 0 && this.remaining <= 0);
    try {
      stream.respond(fields, { endStream });
    } catch (error) {
      // node:http2 refuses what HTTP/2 cannot carry: a 1xx or out-of-range status, a name or
      // value with a forbidden byte, two values of a single-value field (two Content-Types).
      this.fail(500);
      this.onAppError(`Cannot send the app's response over HTTP/2: ${(error as Error).message}`);
      return;
    }
    this.status = code;
    this.headSent = true;
    this.writeBody(body, end, flushed);
  }

  data(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    if (this.finished) return;
    if (this.stream.destroyed) {
      this.gone(chunk, end, flushed);
      return;
    }
    if (this.fileBusy) {
      this.backlog.push(() => this.data(chunk, end, flushed));
      return;
    }
    this.writeBody(chunk, end, flushed);
  }

  /**
   * Stream `length` bytes (undefined: to EOF) of the open file `fd` from `offset`. Calls
   * `close(fd)` exactly once, whatever happens: sent, reset, or the client gone before its turn.
   */
  file(
    fd: number,
    offset: number,
    length: number | undefined,
    end: boolean,
    close: (fd: number) => void,
  ): void {
    if (this.finished || this.stream.destroyed) {
      close(fd);
      return;
    }
    if (this.fileBusy || this.spool?.busy === true) {
      this.backlog.push(() => this.file(fd, offset, length, end, close));
      return;
    }
    let left = length ?? Number.MAX_SAFE_INTEGER;
    if (left === 0 || !this.bodyAllowed) {
      close(fd);
      this.data(Buffer.alloc(0), end);
      return;
    }
    this.fileBusy = true;
    let position = offset;
    const stream = this.stream;
    const resume = (): void => {
      stream.off('drain', resume);
      stream.off('close', resume);
      step();
    };
    const step = (): void => {
      if (stream.destroyed || this.finished) {
        close(fd);
        this.fileBusy = false;
        this.runBacklog();
        return;
      }
      // A full piece while the front's memory budget has room for it, else a small one: a
      // stream that is not read holds its piece (filePiece()).
      const buffer = Buffer.allocUnsafe(
        Math.min(filePiece(this.opts.spool, this.out, FILE_CHUNK), left),
      );
      read(fd, buffer, 0, buffer.length, position, (error, n) => {
        if (error || n === 0 || left <= n) {
          close(fd);
          if (error) {
            this.onAppError(`Cannot read the file the app returned: ${error.message}`);
            this.abort();
            return;
          }
          this.fileBusy = false;
          this.data(buffer.subarray(0, n), end);
          this.opts.spool?.ledger.settle(this.out);
          this.runBacklog();
          return;
        }
        position += n;
        left -= n;
        const more = this.writeBodyBytes(buffer.subarray(0, n));
        this.opts.spool?.ledger.settle(this.out);
        if (more) step();
        else {
          // Either event resumes: 'close' comes instead of 'drain' when the client leaves.
          stream.once('drain', resume);
          stream.once('close', resume);
        }
      });
    };
    step();
  }

  /** A canned status if nothing went out yet, else the stream is reset. `close` has no meaning
   *  for one stream of many: the session goes on serving the others. */
  fail(status: number, _close = false): void {
    if (this.finished) return;
    if (this.headSent) {
      this.abort();
      return;
    }
    this.status = status;
    this.headSent = true;
    respondCanned(this.stream, status, this.opts.serverHeader, this.opts.isHead);
    this.finish();
  }

  /** RST_STREAM with INTERNAL_ERROR: the client sees this response fail, the others go on. */
  abort(): void {
    if (this.finished) return;
    this.spool?.drop();
    this.finished = true;
    resetStream(this.stream, constants.NGHTTP2_INTERNAL_ERROR);
    this.runBacklog(); // files still queued are closed, data dropped
    this.onDone(this);
  }

  /** The client is gone: the app's bytes are credited and dropped, its end ends the sink. */
  private gone(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    flushed?.(chunk.length);
    if (end) this.finish();
  }

  private writeBody(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    if (chunk.length > 0) this.writeBodyBytes(chunk, flushed);
    else flushed?.(0);
    if (!end || this.finished) return;
    if (this.remaining > 0) {
      // The app promised more bytes than it gave: the client must not take this as complete.
      this.onAppError(`Response shorter than its Content-Length: ${this.remaining} bytes missing`);
      this.abort();
      return;
    }
    if (this.spool?.busy === true) {
      this.endSpooled = true;
      return;
    }
    this.end();
  }

  /** Returns false when the stream wants us to wait for 'drain'. */
  private writeBodyBytes(chunk: Buffer, flushed?: Flushed): boolean {
    if (!this.bodyAllowed || this.stream.destroyed) {
      flushed?.(chunk.length);
      return true;
    }
    let bytes = chunk;
    if (this.remaining >= 0) {
      if (chunk.length > this.remaining) {
        bytes = chunk.subarray(0, this.remaining);
        if (!this.overflowed) {
          this.overflowed = true;
          this.onAppError('Response longer than its Content-Length: extra bytes dropped');
        }
      }
      this.remaining -= bytes.length;
    }
    this.bytesSent += bytes.length;
    if (bytes.length === 0) {
      flushed?.(chunk.length);
      return true;
    }
    if (flushed !== undefined) {
      this.writeAppBytes(bytes, chunk.length, flushed);
      return true;
    }
    // A file's bytes (file()): streamed on 'drain', never spooled; file() waits for the spool.
    return this.out.write(bytes);
  }

  /**
   * The app's bytes, for which it is owed `credit`: straight to the stream, credited at once,
   * while they fit under FLOOR and nothing waits on file; else the spool decides
   * where they wait and when the app is credited (response-spool.ts).
   */
  private writeAppBytes(bytes: Buffer, credit: number, flushed: Flushed): void {
    if (this.opts.spool === undefined) {
      // No spool: the app is credited when the client's window has let its bytes through.
      this.out.write(bytes, () => flushed(credit));
      return;
    }
    if (this.spool?.busy !== true && this.out.writableLength + bytes.length <= FLOOR) {
      this.out.write(bytes);
      flushed(credit);
      return;
    }
    this.spool ??= new ResponseSpool(
      this.out,
      this.opts.spool,
      (message) => {
        this.onAppError(message);
        this.abort();
      },
      () => this.spoolSent(),
    );
    this.spool.app([bytes], credit, flushed);
  }

  /** The spool has sent everything it held: end the stream, or go on with what waited. */
  private spoolSent(): void {
    if (this.endSpooled) this.end();
    this.runBacklog();
  }

  private runBacklog(): void {
    if (this.fileBusy) return; // the file in progress runs it when it is done
    for (const next of this.backlog.splice(0)) next();
  }

  private end(): void {
    const stream = this.stream;
    if (this.bodyAllowed && !stream.destroyed && !stream.writableEnded) stream.end();
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone(this);
  }
}
