// Writes one response onto a connection: picks the framing (Content-Length, chunked, or
// close-delimited for HTTP/1.0), adds Date/Server/Connection, holds the app to the length it
// declared, and streams files with backpressure. The head and the first body bytes leave in
// one write.
//
// A client slower than the app: once SPOOL_FROM bytes wait in the socket, the app's further
// body bytes go to a temporary file (the response spool) and are credited back to the worker
// at once, so its thread is free when the app is done rather than when a slow client is
// (nginx's proxy buffering, in the front). The spool is sent on as the socket drains; past
// `spoolLimit` bytes spooled, credit waits for the client again (flow control as usual).
//
//   app ──DATA──▶ writeBodyBytes ─┬─ socket has < SPOOL_FROM waiting ─▶ socket
//                                 └─ else ─▶ spool file ──pump() on 'drain'──▶ socket

import { closeSync, openSync, read, readSync, unlink, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cannedResponse } from './canned.js';
import { httpDate, serializeHead } from './serialize.js';

const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const FILE_CHUNK = 256 * 1024;
/** Bytes waiting in the socket past which the app's output goes to the spool. */
const SPOOL_FROM = 256 * 1024;
/** Bytes read from the spool per socket write. */
const SPOOL_CHUNK = 64 * 1024;

let spoolCounter = 0;

/** The temporary file of one response: bytes appended at `written`, sent on from `sent`. */
interface Spool {
  fd: number;
  path: string;
  written: number;
  sent: number;
  /** Credit for bytes spooled past the limit, owed once they reach the socket. */
  owed: Array<{ at: number; pay: () => void }>;
  waiting: boolean;
}

export interface ResponseOptions {
  versionMinor: 0 | 1;
  isHead: boolean;
  /** The request allows keep-alive and the server is not closing. */
  keepAlive: boolean;
  serverHeader: string;
  /** Most bytes of this response that may wait in the spool for a slow client; 0: none. */
  spoolLimit?: number;
}

export type Flushed = (bytes: number) => void;

export class ResponseWriter {
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
  private spool: Spool | undefined;
  /** The response ended while the spool still held bytes: finish once it is sent. */
  private endSpooled = false;

  constructor(
    private readonly socket: Socket,
    private readonly opts: ResponseOptions,
    private readonly onDone: (writer: ResponseWriter) => void,
    private readonly onAppError: (message: string) => void,
  ) {
    this.keepAlive = opts.keepAlive;
  }

  /** Status line and headers from the app, plus the first body bytes. */
  head(status: string, headers: string[], body: Buffer, end: boolean, flushed?: Flushed): void {
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
    const headBytes = serializeHead(this.opts.versionMinor, status, headers, extra);
    this.headSent = true;
    this.socket.cork();
    this.socket.write(headBytes);
    this.writeBody(body, end, flushed);
    this.socket.uncork();
  }

  data(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    if (this.finished) return;
    if (this.fileBusy) {
      this.backlog.push(() => this.data(chunk, end, flushed));
      return;
    }
    this.socket.cork();
    this.writeBody(chunk, end, flushed);
    this.socket.uncork();
  }

  /** Stream `length` bytes (undefined: to EOF) of the open file `fd` from `offset`; closes fd. */
  file(
    fd: number,
    offset: number,
    length: number | undefined,
    end: boolean,
    close: (fd: number) => void,
  ): void {
    if (this.fileBusy || this.spool !== undefined) {
      this.backlog.push(() => this.file(fd, offset, length, end, close));
      return;
    }
    this.fileBusy = true;
    let position = offset;
    let left = length ?? Number.MAX_SAFE_INTEGER;
    const step = (): void => {
      if (this.socket.destroyed) {
        close(fd);
        return;
      }
      const buffer = Buffer.allocUnsafe(Math.min(FILE_CHUNK, left));
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
          for (const next of this.backlog.splice(0)) next();
          return;
        }
        position += n;
        left -= n;
        const more = this.writeBodyBytes(buffer.subarray(0, n));
        if (more) step();
        else this.socket.once('drain', step);
      });
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
  fail(status: number): void {
    if (this.finished) return;
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
    this.dropSpool();
    this.keepAlive = false;
    this.finished = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.onDone(this);
  }

  private writeBody(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    if (chunk.length > 0) this.writeBodyBytes(chunk, flushed);
    else if (flushed && chunk.length === 0) flushed(0);
    if (!end || this.finished) return;
    if (this.remaining > 0) {
      // The app promised more bytes than it gave: the client cannot tell where the body
      // ends, so the connection must close.
      this.onAppError(`Response shorter than its Content-Length: ${this.remaining} bytes missing`);
      this.abort();
      return;
    }
    if (this.spool !== undefined) {
      if (this.chunked && this.bodyAllowed) this.toSpool([LAST_CHUNK], 0);
      this.endSpooled = true;
      return;
    }
    if (this.chunked && this.bodyAllowed) this.socket.write(LAST_CHUNK);
    this.finish();
  }

  /** Returns false when the socket wants us to wait for 'drain'. */
  private writeBodyBytes(chunk: Buffer, flushed?: Flushed): boolean {
    if (!this.bodyAllowed) {
      flushed?.(chunk.length);
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
    const cb = flushed ? () => flushed(chunk.length) : undefined;
    if (bytes.length === 0) {
      cb?.();
      return true;
    }
    // Only the app's bytes are spooled (`flushed` is its credit); files stream on drain.
    if (
      this.spool !== undefined ||
      (flushed !== undefined &&
        (this.opts.spoolLimit ?? 0) > 0 &&
        this.socket.writableLength >= SPOOL_FROM)
    ) {
      const parts = this.chunked
        ? [Buffer.from(`${bytes.length.toString(16)}\r\n`, 'latin1'), bytes, CRLF]
        : [bytes];
      this.toSpool(parts, chunk.length, flushed);
      return true;
    }
    if (this.chunked) {
      this.socket.write(`${bytes.length.toString(16)}\r\n`, 'latin1');
      this.socket.write(bytes);
      return this.socket.write(CRLF, cb);
    }
    return this.socket.write(bytes, cb);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone(this);
  }

  /** Appends framed body bytes to the spool (opened on first use) and credits the app. */
  private toSpool(parts: Buffer[], credit: number, flushed?: Flushed): void {
    let spool = this.spool;
    try {
      if (spool === undefined) {
        const path = join(tmpdir(), `cask-response-${process.pid}-${++spoolCounter}`);
        spool = {
          fd: openSync(path, 'wx+', 0o600),
          path,
          written: 0,
          sent: 0,
          owed: [],
          waiting: false,
        };
        this.spool = spool;
        this.socket.once('close', () => this.dropSpool());
      }
      for (const part of parts) {
        // Synchronous, as BodySpool's: microseconds into the page cache, and order stays simple.
        writeSync(spool.fd, part, 0, part.length, spool.written);
        spool.written += part.length;
      }
    } catch (error) {
      this.onAppError(`Cannot spool the response for a slow client: ${(error as Error).message}`);
      this.abort();
      return;
    }
    if (flushed !== undefined) {
      if (spool.written <= (this.opts.spoolLimit ?? 0)) flushed(credit);
      else spool.owed.push({ at: spool.written, pay: () => flushed(credit) });
    }
    if (!spool.waiting) this.pump();
  }

  /** Sends the spool on while the socket takes it; resumes on 'drain'; closes it when empty. */
  private pump(): void {
    const spool = this.spool;
    if (spool === undefined) return;
    spool.waiting = false;
    while (spool.sent < spool.written) {
      if (this.socket.writableLength >= SPOOL_FROM || this.socket.destroyed) {
        spool.waiting = true;
        this.socket.once('drain', () => this.pump());
        return;
      }
      const n = Math.min(SPOOL_CHUNK, spool.written - spool.sent);
      const buffer = Buffer.allocUnsafe(n);
      try {
        readSync(spool.fd, buffer, 0, n, spool.sent);
      } catch (error) {
        this.onAppError(`Cannot read back the response spool: ${(error as Error).message}`);
        this.abort();
        return;
      }
      spool.sent += n;
      this.socket.write(buffer);
      while (spool.owed.length > 0 && spool.owed[0]!.at <= spool.sent) spool.owed.shift()!.pay();
    }
    this.dropSpool();
    if (this.endSpooled) this.finish();
    for (const next of this.backlog.splice(0)) next();
  }

  private dropSpool(): void {
    const spool = this.spool;
    if (spool === undefined) return;
    this.spool = undefined;
    closeSync(spool.fd);
    unlink(spool.path, () => {});
  }
}
