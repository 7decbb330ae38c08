// `--compress`: gzip and brotli of app responses, as a ResponseSink that wraps the transport's
// own, so HTTP/1.1 and HTTP/2 get it alike and neither knows it is there.
//
//   gateway ──head/data/file──▶ CompressingSink ──compressed head/data──▶ transport's sink
//           ◀─credit (app bytes)─┘      ▲ node:zlib stream          credit (wire bytes)─┘
//
// The credit rule (src/exchange.ts) holds across the wrap: the app is credited for its bytes
// once the compressed bytes they became have been credited by the transport's sink, so a slow
// client slows the app exactly as it would without compression, and the front never holds a
// whole response. The compressor's own buffers are the only memory added: a window of 32 KiB
// (gzip) or 4 MiB at most (brotli, lgwin 22; in practice far less for these levels).
//
// Each piece the app sends is flushed through the compressor (Z_SYNC_FLUSH), so a streamed
// response reaches the client as the app yields it, not when 16 KiB have piled up.
// Levels are chosen for speed, measured on this machine on 50-90 KB of text and JSON: gzip 4
// compresses as well as gzip 6 to within 3% in 55-65% of its time; brotli 4 is as fast as
// gzip 6 and 5-60% smaller.

import { read } from 'node:fs';
import zlib from 'node:zlib';
import type { CaskError } from '../errors.js';
import type { Exchange, Flushed, RequestHandler, ResponseSink } from '../exchange.js';
import {
  compressedHeaders,
  decideCompression,
  withVary,
  type CompressRules,
} from './compress-plan.js';
import { chooseCoding, type Coding } from './encoding.js';
import { fieldOf } from './headers.js';

const GZIP_LEVEL = 4;
const BROTLI_QUALITY = 4;
/** A file sent through the compressor is read in pieces of this size. */
const FILE_PIECE = 64 * 1024;
/** Compressed bytes handed on and not yet credited, past which a file's reading waits. */
const FILE_AHEAD = 256 * 1024;
const EMPTY = Buffer.alloc(0);

type Compressor = zlib.Gzip | zlib.BrotliCompress;

function compressor(coding: Coding, sizeHint: number): Compressor {
  if (coding === 'br') {
    return zlib.createBrotliCompress({
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        ...(sizeHint > 0 ? { [zlib.constants.BROTLI_PARAM_SIZE_HINT]: sizeHint } : {}),
      },
    });
  }
  return zlib.createGzip({ level: GZIP_LEVEL });
}

const FLUSH: Record<Coding, number> = {
  br: zlib.constants.BROTLI_OPERATION_FLUSH,
  gzip: zlib.constants.Z_SYNC_FLUSH,
  zstd: zlib.constants.Z_SYNC_FLUSH,
};

/** Wraps the app handler: each exchange's sink compresses where the rules allow. */
export class CompressingHandler implements RequestHandler {
  constructor(
    private readonly app: RequestHandler,
    private readonly rules: CompressRules,
  ) {}

  handle(exchange: Exchange): void {
    const request = exchange.request;
    // nginx's gzip_http_version 1.1: an HTTP/1.0 client would get a close-delimited body.
    if (request.method === 'HEAD' || request.protocol === 'HTTP/1.0') {
      this.app.handle(exchange);
      return;
    }
    const coding = chooseCoding(fieldOf(request.headers, 'accept-encoding'), ['br', 'gzip']);
    const sink = new CompressingSink(exchange.response, this.rules, {
      coding: coding === 'identity' ? undefined : coding,
      ranged: fieldOf(request.headers, 'range') !== undefined,
    });
    this.app.handle(withSink(exchange, sink));
  }

  refused(status: number, error: CaskError | undefined, remoteAddr: string): void {
    this.app.refused(status, error, remoteAddr);
  }

  completed(exchange: Exchange): void {
    this.app.completed(exchange);
  }

  responseError(exchange: Exchange, message: string): void {
    this.app.responseError(exchange, message);
  }
}

/**
 * The transport's exchange with another response sink. Everything else is read through to the
 * transport's exchange (its prototype), so a field the contract gains later is there too. The
 * client-gone callback is set on the transport's own exchange, which is where the transport
 * calls it from, and stops the compressor first.
 */
function withSink(inner: Exchange, sink: CompressingSink): Exchange {
  let gone: (() => void) | undefined;
  return Object.create(inner, {
    response: { value: sink, enumerable: true },
    onClientGone: {
      enumerable: true,
      get: () => gone,
      set: (callback: (() => void) | undefined) => {
        gone = callback;
        inner.onClientGone = () => {
          sink.stop();
          callback?.();
        };
      },
    },
  }) as Exchange;
}

interface Owed {
  /** Paid once the inner sink has credited this many compressed bytes in all. */
  readonly at: number;
  readonly credit: number;
  readonly flushed: Flushed;
}

export class CompressingSink implements ResponseSink {
  private mode: 'undecided' | 'pass' | 'compress' = 'undecided';
  private stream: Compressor | undefined;
  private coding: Coding = 'gzip';
  /** Compressed bytes handed to the inner sink, and credited back by it. */
  private given = 0;
  private paid = 0;
  private owed: Owed[] = [];
  /** A file is being read through the compressor; later calls wait in the backlog. */
  private reading = false;
  private backlog: Array<{ run: () => void; drop: () => void }> = [];
  /** The file read waiting for the inner sink to take what was handed on. */
  private resume: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly inner: ResponseSink,
    private readonly rules: CompressRules,
    private readonly request: { coding: Coding | undefined; ranged: boolean },
  ) {}

  get status(): number {
    return this.inner.status;
  }
  get bytesSent(): number {
    return this.inner.bytesSent;
  }
  get headSent(): boolean {
    return this.inner.headSent;
  }
  get finished(): boolean {
    return this.inner.finished;
  }

  head(status: string, headers: string[], body: Buffer, end: boolean, flushed?: Flushed): void {
    const code = Number.parseInt(status, 10);
    const decision = decideCompression(
      this.request,
      code,
      headers,
      end ? body.length : undefined,
      this.rules,
    );
    if (decision !== 'compress' || this.request.coding === undefined) {
      this.mode = 'pass';
      this.inner.head(
        status,
        decision === 'vary' ? withVary(headers) : headers,
        body,
        end,
        flushed,
      );
      return;
    }
    this.mode = 'compress';
    const coding = this.request.coding;
    this.coding = coding;
    const compressedHead = compressedHeaders(headers, coding);
    if (end) {
      // Whole in hand: one shot, off the event loop, and the head goes out with its length.
      const done = (error: Error | null, out: Buffer): void => {
        if (this.stopped || this.inner.finished) return;
        if (error !== null) {
          this.inner.fail(500);
          return;
        }
        this.given += out.length;
        this.inner.head(status, compressedHead, out, true, this.innerFlushed);
        this.owe(body.length, flushed);
      };
      if (coding === 'br') {
        zlib.brotliCompress(
          body,
          {
            params: {
              [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
              [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
            },
          },
          done,
        );
      } else zlib.gzip(body, { level: GZIP_LEVEL }, done);
      return;
    }
    const stream = compressor(coding, 0);
    this.stream = stream;
    stream.on('data', (out: Buffer) => {
      if (this.stopped) return;
      this.given += out.length;
      this.inner.data(out, false, this.innerFlushed);
    });
    stream.on('error', () => this.abort());
    this.inner.head(status, compressedHead, EMPTY, false);
    this.feed(body, end, flushed);
  }

  data(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    if (this.mode !== 'compress') {
      this.inner.data(chunk, end, flushed);
      return;
    }
    if (this.reading) {
      this.backlog.push({ run: () => this.data(chunk, end, flushed), drop: () => {} });
      return;
    }
    this.feed(chunk, end, flushed);
  }

  file(
    fd: number,
    offset: number,
    length: number | undefined,
    end: boolean,
    close: (fd: number) => void,
  ): void {
    if (this.mode !== 'compress') {
      this.inner.file(fd, offset, length, end, close);
      return;
    }
    if (this.reading || this.stopped) {
      if (this.stopped) close(fd);
      else
        this.backlog.push({
          run: () => this.file(fd, offset, length, end, close),
          drop: () => close(fd),
        });
      return;
    }
    this.reading = true;
    let position = offset;
    let left = length ?? Number.MAX_SAFE_INTEGER;
    const step = (): void => {
      if (this.stopped) {
        close(fd);
        return;
      }
      if (left === 0) {
        this.fileDone(fd, close, end);
        return;
      }
      const buffer = Buffer.allocUnsafe(Math.min(FILE_PIECE, left));
      read(fd, buffer, 0, buffer.length, position, (error, n) => {
        if (this.stopped || error !== null) {
          close(fd);
          if (error !== null) this.abort();
          return;
        }
        if (n === 0) {
          this.fileDone(fd, close, end);
          return;
        }
        position += n;
        left -= n;
        const stream = this.stream as Compressor;
        stream.write(buffer.subarray(0, n));
        stream.flush(FLUSH[this.coding], () => {
          // Read on only while the client keeps up: at most FILE_AHEAD waits in the sink.
          if (this.given - this.paid <= FILE_AHEAD) step();
          else this.resume = step;
        });
      });
    };
    step();
  }

  fail(status: number, close?: boolean): void {
    this.stop();
    this.inner.fail(status, close);
  }

  abort(): void {
    this.stop();
    this.inner.abort();
  }

  /** Nothing more will be sent: the compressor is dropped, waiting files are closed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.owed = [];
    this.resume = undefined;
    this.stream?.destroy();
    for (const entry of this.backlog.splice(0)) entry.drop();
  }

  private fileDone(fd: number, close: (fd: number) => void, end: boolean): void {
    close(fd);
    this.reading = false;
    if (end) this.feed(EMPTY, true, undefined);
    for (
      let next = this.backlog.shift();
      next !== undefined && !this.reading;
      next = this.backlog.shift()
    ) {
      next.run();
    }
  }

  /** The app's bytes into the compressor; credit owed once their output is taken. */
  private feed(chunk: Buffer, end: boolean, flushed: Flushed | undefined): void {
    const stream = this.stream;
    if (stream === undefined || this.stopped) return;
    if (chunk.length > 0) stream.write(chunk);
    if (end) {
      stream.once('end', () => {
        if (this.stopped) return;
        this.inner.data(EMPTY, true, this.innerFlushed);
        this.owe(chunk.length, flushed);
      });
      stream.end();
      return;
    }
    stream.flush(FLUSH[this.coding], () => this.owe(chunk.length, flushed));
  }

  private owe(credit: number, flushed: Flushed | undefined): void {
    if (flushed === undefined || this.stopped) return;
    this.owed.push({ at: this.given, credit, flushed });
    this.settle();
  }

  private readonly innerFlushed = (bytes: number): void => {
    this.paid += bytes;
    this.settle();
    const resume = this.resume;
    if (resume !== undefined && this.given - this.paid <= FILE_AHEAD) {
      this.resume = undefined;
      resume();
    }
  };

  private settle(): void {
    while (this.owed.length > 0 && (this.owed[0] as Owed).at <= this.paid) {
      const { credit, flushed } = this.owed.shift() as Owed;
      flushed(credit);
    }
  }
}
