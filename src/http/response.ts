// Writes one response onto a connection: picks the framing (Content-Length, chunked, or
// close-delimited for HTTP/1.0), adds Date/Server/Connection, holds the app to the length it
// declared, and streams files with backpressure. The head and the first body bytes leave in
// one write. Where the bytes wait for a client slower than the app is response-spool.ts's
// business: this module only frames them.

import { readSync } from 'node:fs';
import type { ClientSocket } from '../net/client-socket.js';
import { cannedResponse } from './canned.js';
import type { Flushed, ResponseSink } from '../exchange.js';
import { kept, type Loan } from '../ipc/read-loans.js';
import { corkForTurn } from '../net/turn-cork.js';
import { FLOOR, ResponseSpool, filePiece, type SpoolPolicy } from './response-spool.js';
import { headText, httpDate, serializeHead } from './serialize.js';

const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
/**
 * A file is read in pieces of this size, synchronously, each when the socket has taken the
 * last: a read from the page cache costs less than a thread-pool round trip, and with 1 MiB
 * pieces a 10 MB file costs 40% less CPU than in 256 KiB pieces read through the thread pool
 * (measured with `cask bench --scenarios static-large`). Like nginx without `aio`, a read from
 * a cold, slow disk holds the loop meanwhile. A client slower than the file holds at most one
 * piece in memory.
 */
const FILE_CHUNK = 1024 * 1024;
/**
 * A whole response whose body is under this, with nothing queued before it, leaves in one
 * write (writeWhole()); the same bound under which the app's bytes are credited at once.
 */
const WHOLE_MAX = FLOOR;
/** Pieces sent in one turn of the event loop to a client that keeps up, before yielding. */
const FILE_CHUNKS_PER_TURN = 4;
/**
 * Piece buffers no file is using, for the next file. A fresh 1 MiB buffer per piece made V8
 * count ~100 MB/s of new external memory under a 10 MB download load and run a major GC every
 * second or so (a fifth of the front's CPU, measured with perf); a file keeps one buffer for
 * all its pieces and gives it back here once the socket has written its last piece.
 */
const freePieces: Buffer[] = [];
const FREE_PIECES_MAX = 8;

function takePiece(): Buffer {
  return freePieces.pop() ?? Buffer.allocUnsafeSlow(FILE_CHUNK);
}

function givePiece(piece: Buffer): void {
  if (freePieces.length < FREE_PIECES_MAX) freePieces.push(piece);
}

export interface ResponseOptions {
  versionMinor: 0 | 1;
  isHead: boolean;
  /** The request allows keep-alive and the server is not closing. */
  keepAlive: boolean;
  serverHeader: string;
  /** How much of the response may wait in the front for a slow client; none if undefined. */
  spool?: SpoolPolicy;
}

/** The HTTP/1.1 response sink of one exchange. */
export class ResponseWriter implements ResponseSink {
  status = 0;
  bytesSent = 0;
  headSent = false;
  finished = false;
  /** Decided when the head goes out; the connection reads it when the response is done. */
  keepAlive: boolean;
  private chunked = false;
  private bodyAllowed = true;
  private remaining = -1;
  private fileBusy = false;
  private backlog: Array<() => void> = [];
  /** Made when a response first outruns its client (most responses never need one). */
  private spool: ResponseSpool | undefined;
  /** The response ended while the spool still held bytes: finish once it is sent. */
  private endSpooled = false;
  /** This writer holds the socket corked until the end of this turn (src/net/turn-cork.ts). */
  corkedForTurn = false;
  /**
   * Bytes on loan (src/ipc/read-loans.ts) are held until the socket has written them: every
   * write of a lent view passes the loan's release as its callback, which Node calls once
   * the bytes are written or the socket is destroyed. Bytes that wait elsewhere (the backlog
   * behind a file) are copied; the spool's file is written synchronously.
   */
  readonly borrows = true;

  constructor(
    private readonly socket: ClientSocket,
    private readonly opts: ResponseOptions,
    private readonly onDone: (writer: ResponseWriter) => void,
    private readonly onAppError: (message: string) => void,
  ) {
    this.keepAlive = opts.keepAlive;
  }

  /** Status line and headers from the app, plus the first body bytes. */
  head(
    status: string,
    headers: string[],
    body: Buffer,
    end: boolean,
    flushed?: Flushed,
    loan?: Loan,
  ): void {
    const code = Number.parseInt(status, 10);
    let contentLength = -1;
    let hasDate = false;
    let hasServer = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.length === 14 && name.toLowerCase() === 'content-length') {
        const value = headers[i + 1] as string;
        if (!/^\d{1,15}$/.test(value) || (contentLength >= 0 && Number(value) !== contentLength)) {
          this.fail(500);
          this.onAppError(`Invalid Content-Length from the app: ${JSON.stringify(value)}`);
          return;
        }
        contentLength = Number(value);
      } else if (name.length === 4 && name.toLowerCase() === 'date') hasDate = true;
      else if (name.length === 6 && name.toLowerCase() === 'server') hasServer = true;
    }
    this.status = code;
    this.bodyAllowed = !(
      this.opts.isHead ||
      code === 204 ||
      code === 304 ||
      (code >= 100 && code < 200)
    );
    let extra = hasDate ? '' : `Date: ${httpDate()}\r\n`;
    if (!hasServer && this.opts.serverHeader) extra += `Server: ${this.opts.serverHeader}\r\n`;
    if (this.bodyAllowed) {
      if (contentLength >= 0) this.remaining = contentLength;
      else if (end) {
        // The whole body is in hand: give it a length rather than chunking it.
        this.remaining = body.length;
        extra += `Content-Length: ${body.length}\r\n`;
      } else if (this.opts.versionMinor === 1) {
        this.chunked = true;
        extra += 'Transfer-Encoding: chunked\r\n';
      } else this.keepAlive = false; // HTTP/1.0 without a length: the close ends the body
    }
    if (!this.keepAlive) extra += 'Connection: close\r\n';
    else if (this.opts.versionMinor === 0) extra += 'Connection: keep-alive\r\n';
    if (
      end &&
      flushed !== undefined &&
      this.bodyAllowed &&
      !this.chunked &&
      this.remaining === body.length &&
      this.socket.writableLength + body.length < WHOLE_MAX
    ) {
      this.writeWhole(headText(this.opts.versionMinor, status, headers, extra), body, flushed);
      return;
    }
    const headBytes = serializeHead(this.opts.versionMinor, status, headers, extra);
    this.headSent = true;
    // Every frame of the exchange that one read of the link holds (sixty 1 KiB pieces in a
    // 64 KiB read) leaves in one writev.
    corkForTurn(this, this.socket);
    this.socket.write(headBytes);
    this.writeBody(body, end, flushed, loan);
  }

  /**
   * A whole response that fits under WHOLE_MAX (nearly every response of an API or a page):
   * head and body copied into one buffer and written at once. One write of one buffer costs
   * Node less than a corked head and body (a writev request, its buffer list and a tick to
   * uncork), and the body is copied, so a lent one is free again when this returns.
   */
  private writeWhole(head: string, body: Buffer, flushed: Flushed): void {
    const bytes = Buffer.allocUnsafe(head.length + body.length);
    bytes.write(head, 0, 'latin1');
    body.copy(bytes, head.length);
    this.headSent = true;
    this.remaining = 0;
    this.bytesSent += body.length;
    this.writeAppBytes(bytes, body.length, flushed);
    this.finish();
  }

  data(chunk: Buffer, end: boolean, flushed?: Flushed, loan?: Loan): void {
    if (this.finished || this.socket.destroyed) return;
    if (this.fileBusy) {
      const own = kept(chunk, loan);
      this.backlog.push(() => this.data(own, end, flushed));
      return;
    }
    corkForTurn(this, this.socket);
    this.writeBody(chunk, end, flushed, loan);
  }

  /**
   * Stream `length` bytes (undefined: to EOF) of the open file `fd` from `offset`. Calls
   * `close(fd)` exactly once, whatever happens: sent, cut, or the client gone before its turn.
   */
  file(
    fd: number,
    offset: number,
    length: number | undefined,
    end: boolean,
    close: (fd: number) => void,
  ): void {
    if (this.finished || this.socket.destroyed) {
      close(fd);
      return;
    }
    if (this.fileBusy || this.spool?.busy === true) {
      this.backlog.push(() => this.file(fd, offset, length, end, close));
      return;
    }
    this.fileBusy = true;
    let position = offset;
    let left = length ?? Number.MAX_SAFE_INTEGER;
    // One buffer for every piece of this file, reused once the socket is done with the last
    // piece: written at once (nothing left queued), or drained. A piece still queued when the
    // socket did not ask to wait keeps its buffer: the next piece gets a new one.
    let piece: Buffer | undefined;
    const step = (): void => {
      for (let turn = 0; ; turn++) {
        if (this.socket.destroyed) {
          close(fd);
          // What waited behind this file now closes its own files and sends nothing.
          this.fileBusy = false;
          for (const next of this.backlog.splice(0)) next();
          return;
        }
        if (turn === FILE_CHUNKS_PER_TURN) {
          // The client takes all we give: let the other connections have the loop too.
          setImmediate(step);
          return;
        }
        // A full piece while the front's memory budget has room for it, FLOOR once it is
        // spent, so that a client that does not read holds little (filePiece()). Past the
        // budget the piece gets a buffer of its own size: cut from a larger one, it would keep
        // all of that alive.
        const budget = filePiece(this.opts.spool, this.socket, FILE_CHUNK);
        const want = Math.min(left, budget);
        if (piece === undefined || piece.length < want || piece.length > budget) {
          if (piece?.length === FILE_CHUNK) givePiece(piece);
          piece = want === FILE_CHUNK ? takePiece() : Buffer.allocUnsafe(want);
        }
        const buffer = want < piece.length ? piece.subarray(0, want) : piece;
        let n: number;
        try {
          n = readSync(fd, buffer, 0, buffer.length, position);
        } catch (error) {
          close(fd);
          this.onAppError(`Cannot read the file the app returned: ${(error as Error).message}`);
          this.abort();
          return;
        }
        if (n === 0 || left <= n) {
          close(fd);
          this.fileBusy = false;
          if (piece.length === FILE_CHUNK && n > 0 && !this.finished && !this.socket.destroyed) {
            const done = piece;
            this.socket.cork();
            this.writeBodyBytes(buffer.subarray(0, n), undefined, () => givePiece(done));
            this.writeBody(EMPTY, end);
            this.socket.uncork();
          } else this.data(buffer.subarray(0, n), end);
          this.opts.spool?.ledger.settle(this.socket);
          for (const next of this.backlog.splice(0)) next();
          return;
        }
        position += n;
        left -= n;
        const more = this.writeBodyBytes(buffer.subarray(0, n));
        this.opts.spool?.ledger.settle(this.socket);
        if (!more) {
          this.waitForDrain(step);
          return;
        }
        if (this.socket.writableLength > 0) piece = undefined;
      }
    };
    if (left === 0) {
      close(fd);
      this.fileBusy = false;
      this.data(Buffer.alloc(0), end);
      return;
    }
    step();
  }

  /** The app failed: a canned status if nothing went out yet, else cut the connection. */
  fail(status: number, close = false): void {
    if (this.finished) return;
    if (close) this.keepAlive = false;
    if (this.headSent) {
      this.abort();
      return;
    }
    this.status = status;
    this.headSent = true;
    // Only the server-side errors leave the connection usable; anything else closes it.
    if (status < 500 || status > 504 || status === 501) this.keepAlive = false;
    this.socket.write(cannedResponse(status, { close: !this.keepAlive, head: this.opts.isHead }));
    this.finish();
  }

  /** Close the connection after what was already written: the client sees a cut body. */
  abort(): void {
    if (this.finished) return;
    this.spool?.drop();
    this.keepAlive = false;
    this.finished = true;
    // Files still queued are closed (file() closes once finished); queued data is dropped.
    for (const next of this.backlog.splice(0)) next();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.onDone(this);
  }

  private writeBody(chunk: Buffer, end: boolean, flushed?: Flushed, loan?: Loan): void {
    if (chunk.length > 0) this.writeBodyBytes(chunk, flushed, undefined, loan);
    else if (flushed && chunk.length === 0) flushed(0);
    if (!end || this.finished) return;
    if (this.remaining > 0) {
      // The app promised more bytes than it gave: the client cannot tell where the body
      // ends, so the connection must close.
      this.onAppError(`Response shorter than its Content-Length: ${this.remaining} bytes missing`);
      this.abort();
      return;
    }
    const spool = this.spool?.busy === true ? this.spool : undefined;
    if (this.chunked && this.bodyAllowed) {
      if (spool === undefined) this.socket.write(LAST_CHUNK);
      else spool.raw(LAST_CHUNK);
    }
    if (spool !== undefined) {
      this.endSpooled = true;
      return;
    }
    this.finish();
  }

  /** Returns false when the socket wants us to wait for 'drain'. */
  private writeBodyBytes(
    chunk: Buffer,
    flushed?: Flushed,
    written?: () => void,
    loan?: Loan,
  ): boolean {
    if (!this.bodyAllowed) {
      flushed?.(chunk.length);
      written?.();
      return true;
    }
    let bytes = chunk;
    if (this.remaining >= 0) {
      if (chunk.length > this.remaining) {
        bytes = chunk.subarray(0, this.remaining);
        if (this.keepAlive)
          this.onAppError('Response longer than its Content-Length: extra bytes dropped');
        this.keepAlive = false;
      }
      this.remaining -= bytes.length;
    }
    this.bytesSent += bytes.length;
    if (bytes.length === 0) {
      flushed?.(chunk.length);
      written?.();
      return true;
    }
    if (flushed !== undefined) {
      this.writeAppBytes(bytes, chunk.length, flushed, loan);
      return true;
    }
    // A file's bytes (file()): streamed on 'drain', never spooled; file() waits for the spool.
    // `written` once the socket is done with `chunk` (written, or the connection gone).
    if (this.chunked) {
      this.socket.write(`${bytes.length.toString(16)}\r\n`, 'latin1');
      this.socket.write(bytes);
      return this.socket.write(CRLF, written);
    }
    return this.socket.write(bytes, written);
  }

  /** 'drain', or 'close' for a client gone meanwhile ('drain' never comes then). */
  private waitForDrain(next: () => void): void {
    const socket = this.socket;
    const go = (): void => {
      socket.off('drain', go);
      socket.off('close', go);
      next();
    };
    socket.on('drain', go);
    socket.on('close', go);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone(this);
  }

  /**
   * The app's bytes, for which it is owed `credit`. Straight to the socket, credited at once,
   * while they fit under FLOOR and nothing waits on file (nearly every response); else the
   * spool decides where they wait (in memory only with a claim on the front's budget) and when
   * the app is credited.
   */
  private writeAppBytes(bytes: Buffer, credit: number, flushed: Flushed, loan?: Loan): void {
    const socket = this.socket;
    const size = this.chunked ? bytes.length + 16 : bytes.length;
    if (this.opts.spool === undefined) {
      // No spool: the app is credited when the socket has written its bytes.
      const release = loan?.hold();
      const written = (): void => {
        flushed(credit);
        release?.();
      };
      if (this.chunked) {
        socket.write(`${bytes.length.toString(16)}\r\n`, 'latin1');
        socket.write(bytes);
        socket.write(CRLF, written);
      } else socket.write(bytes, written);
      return;
    }
    if (this.spool?.busy !== true && socket.writableLength + size <= FLOOR) {
      if (this.chunked) {
        socket.write(`${bytes.length.toString(16)}\r\n`, 'latin1');
        socket.write(bytes, loan?.hold());
        socket.write(CRLF);
      } else socket.write(bytes, loan?.hold());
      flushed(credit);
      return;
    }
    this.spool ??= new ResponseSpool(
      socket,
      this.opts.spool,
      (message) => {
        this.onAppError(message);
        this.abort();
      },
      () => this.spoolSent(),
    );
    const parts = this.chunked
      ? [Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1'), bytes, CRLF]
      : [bytes];
    this.spool.app(parts, credit, flushed, loan);
  }

  /** The spool has sent everything it held: finish, or go on with what waited behind it. */
  private spoolSent(): void {
    if (this.endSpooled) this.finish();
    for (const next of this.backlog.splice(0)) next();
  }
}
