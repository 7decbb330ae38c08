// Private to src/cgi: the ResponseSink of one FastCGI request. The same duties as the HTTP/1.1
// writer (src/http/response.ts) — hold the app to the length it declared, no body for HEAD,
// 1xx, 204 and 304, stream files with backpressure, credit the app as soon as its bytes are in
// hand — with FastCGI's framing: a CGI response (`Status:` and the headers, a blank line, the
// body) in STDOUT records, then an empty STDOUT and END_REQUEST (src/cgi/fastcgi.ts).
//
// There is no `Date` or `Server` here: nginx adds its own. A response that must be cut (the app
// failed after its head, a short body) cannot say so in FastCGI — END_REQUEST would read as a
// complete response — so the connection is dropped instead, which nginx reports to its client
// as a cut response.
//
// Where bytes wait for a web server slower than the app is the HTTP/1.1 spool
// (src/http/response-spool.ts), writing into STDOUT records through RecordOut.

import { read } from 'node:fs';
import type { ClientSocket } from '../net/client-socket.js';
import type { Flushed, ResponseSink } from '../exchange.js';
import { reasonPhrase } from '../http/canned.js';
import {
  FLOOR,
  ResponseSpool,
  type SpoolPolicy,
  type SpoolTarget,
} from '../http/response-spool.js';
import { serializeHead } from '../http/serialize.js';
import { RecordType, encodeResponseEnd, streamRecords } from './fastcgi.js';

const FILE_CHUNK = 256 * 1024;
/** serializeHead()'s status line starts with these 9 bytes; a CGI head says `Status: `. */
const HTTP_PREFIX = 'HTTP/1.0 '.length;
const STATUS_PREFIX = Buffer.from('Status: ', 'latin1');

/** The head of a CGI response (RFC 3875 §6.3): the checks and layout of serializeHead(). */
export function cgiHead(status: string, headers: string[], extra: string): Buffer {
  const head = serializeHead(0, status, headers, extra);
  return Buffer.concat([STATUS_PREFIX, head.subarray(HTTP_PREFIX)]);
}

/** A whole CGI error response for `status`, the same words as the HTTP canned ones. */
export function cgiError(status: number, isHead = false): Buffer {
  const reason = reasonPhrase(status);
  const body = `${status} ${reason}\n`;
  const extra =
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    (status === 503 ? 'Retry-After: 1\r\n' : '');
  const head = cgiHead(`${status} ${reason}`, [], extra);
  return isHead ? head : Buffer.concat([head, Buffer.from(body, 'latin1')]);
}

/** One request's STDOUT stream on the connection's socket, as the spool writes into it. */
export class RecordOut implements SpoolTarget {
  constructor(
    private readonly socket: ClientSocket,
    private readonly id: number,
  ) {}

  /** `written` is called once the socket has written the last of these bytes. */
  write(bytes: Buffer, written?: () => void): boolean {
    const socket = this.socket;
    const parts = streamRecords(RecordType.STDOUT, this.id, bytes);
    let more = true;
    socket.cork();
    for (let i = 0; i < parts.length; i++) {
      more =
        i === parts.length - 1 && written !== undefined
          ? socket.write(parts[i] as Buffer, written)
          : socket.write(parts[i] as Buffer);
    }
    socket.uncork();
    return more;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get writableCorked(): number {
    return this.socket.writableCorked;
  }

  get writableNeedDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  get writableHighWaterMark(): number {
    return this.socket.writableHighWaterMark;
  }

  uncork(): void {
    this.socket.uncork();
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** Every request of the connection writes into its socket's one queue. */
  get shared(): ClientSocket {
    return this.socket;
  }

  on(event: 'drain', listener: () => void): this {
    this.socket.on(event, listener);
    return this;
  }

  once(event: 'drain' | 'close', listener: () => void): unknown {
    return this.socket.once(event, listener);
  }

  off(event: 'drain' | 'close', listener: () => void): unknown {
    return this.socket.off(event, listener);
  }
}

export interface FastCgiResponseOptions {
  id: number;
  isHead: boolean;
  /** How much of the response may wait in the front for a slow web server; none if undefined. */
  spool: SpoolPolicy | undefined;
}

export class FastCgiResponse implements ResponseSink {
  status = 0;
  bytesSent = 0;
  headSent = false;
  finished = false;
  /** The response was cut: the connection is being dropped. */
  cut = false;
  /** The transport asked to close the connection after this response (a refused request). */
  closeAfter = false;
  private bodyAllowed = true;
  private remaining = -1;
  private fileBusy = false;
  private backlog: Array<() => void> = [];
  private spool: ResponseSpool | undefined;
  /** The response ended while the spool still held bytes: the end records wait for it. */
  private endSpooled = false;
  private readonly out: RecordOut;

  constructor(
    private readonly socket: ClientSocket,
    private readonly opts: FastCgiResponseOptions,
    private readonly onDone: (response: FastCgiResponse) => void,
    private readonly onAppError: (message: string) => void,
  ) {
    this.out = new RecordOut(socket, opts.id);
  }

  head(status: string, headers: string[], body: Buffer, end: boolean, flushed?: Flushed): void {
    if (this.finished) return;
    const code = Number.parseInt(status, 10);
    let contentLength = -1;
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
      }
    }
    this.status = code;
    this.bodyAllowed = !(
      this.opts.isHead ||
      code === 204 ||
      code === 304 ||
      (code >= 100 && code < 200)
    );
    let extra = '';
    if (this.bodyAllowed) {
      if (contentLength >= 0) this.remaining = contentLength;
      else if (end) {
        // The whole body is in hand: a length lets nginx keep its own client connection.
        this.remaining = body.length;
        extra = `Content-Length: ${body.length}\r\n`;
      }
    }
    const headBytes = cgiHead(status, headers, extra);
    this.headSent = true;
    this.socket.cork();
    this.out.write(headBytes);
    this.writeBody(body, end, flushed);
    this.socket.uncork();
  }

  data(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    if (this.finished || this.socket.destroyed) return;
    if (this.fileBusy) {
      this.backlog.push(() => this.data(chunk, end, flushed));
      return;
    }
    this.socket.cork();
    this.writeBody(chunk, end, flushed);
    this.socket.uncork();
  }

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
    const step = (): void => {
      if (this.socket.destroyed) {
        close(fd);
        this.fileBusy = false;
        for (const next of this.backlog.splice(0)) next();
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
        if (this.writeBodyBytes(buffer.subarray(0, n))) step();
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

  fail(status: number, close = false): void {
    if (this.finished) return;
    if (close) this.closeAfter = true;
    if (this.headSent) {
      this.abort();
      return;
    }
    this.status = status;
    this.headSent = true;
    this.out.write(cgiError(status, this.opts.isHead));
    this.finish();
  }

  /** FastCGI has no way to say a response is cut short: the connection is dropped. */
  abort(): void {
    if (this.finished) return;
    this.spool?.drop();
    this.cut = true;
    this.finished = true;
    for (const next of this.backlog.splice(0)) next();
    this.socket.destroy();
    this.onDone(this);
  }

  private writeBody(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    if (chunk.length > 0) this.writeBodyBytes(chunk, flushed);
    else flushed?.(0);
    if (!end || this.finished) return;
    if (this.remaining > 0) {
      this.onAppError(`Response shorter than its Content-Length: ${this.remaining} bytes missing`);
      this.abort();
      return;
    }
    if (this.spool?.busy === true) {
      this.endSpooled = true;
      return;
    }
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
        this.onAppError('Response longer than its Content-Length: extra bytes dropped');
      }
      this.remaining -= bytes.length;
    }
    this.bytesSent += bytes.length;
    if (bytes.length === 0) {
      flushed?.(chunk.length);
      return true;
    }
    if (flushed === undefined) return this.out.write(bytes);
    const policy = this.opts.spool;
    if (policy === undefined) {
      // No spool: the app is credited when the socket has written its bytes.
      this.out.write(bytes, () => flushed(chunk.length));
      return true;
    }
    if (this.spool?.busy !== true && this.socket.writableLength + bytes.length <= FLOOR) {
      this.out.write(bytes);
      flushed(chunk.length);
      return true;
    }
    this.spool ??= new ResponseSpool(
      this.out,
      policy,
      (message) => {
        this.onAppError(message);
        this.abort();
      },
      () => this.spoolSent(),
    );
    this.spool.app([bytes], chunk.length, flushed);
    return true;
  }

  private spoolSent(): void {
    if (this.endSpooled) this.finish();
    for (const next of this.backlog.splice(0)) next();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.socket.write(encodeResponseEnd(this.opts.id));
    this.onDone(this);
  }
}
