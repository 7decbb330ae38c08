// Private to src/cgi: the ResponseSink of a uwsgi or SCGI request. Both answer with a plain
// HTTP/1.x response that ends when the connection closes (nginx reads it as uWSGI's
// `--socket` writes it), so this is the HTTP/1.1 writer (src/http/response.ts) as it is, with
// HTTP/1.0 framing: a Content-Length when the app gives one or the whole body is in hand, else
// the end of the connection; never chunked, which nginx's uwsgi and SCGI modules do not undo.
// No `Server` header: nginx sends its own.
//
// One difference: a response that must be cut short after its head (the app failed, the worker
// died) resets the connection instead of closing it. For a body that ends with the connection,
// an orderly close would read as a complete response, and nginx would hand its client a
// truncated body as if it were whole; a reset makes it cut its client's response too.
//
// The reset waits CUT_DELAY_MS first, with nothing more written and no FIN: on Linux a reset
// that arrives before the web server has read the bytes sent ahead of it is reported to it as
// an orderly end of the stream (measured here: 8 times in 12 with an immediate reset, never
// with a short wait), which is exactly the mistake the reset is there to prevent. A web
// server that reads slower than that can still take a cut body for a whole one; only a
// Content-Length (which nginx checks) or FastCGI's END_REQUEST rule that out.

import type { ClientSocket } from '../net/client-socket.js';
import type { Flushed, ResponseSink } from '../exchange.js';
import { ResponseWriter } from '../http/response.js';
import type { SpoolPolicy } from '../http/response-spool.js';

/** How long a cut response's connection waits for the web server to read what it was sent. */
export const CUT_DELAY_MS = 100;

export interface CloseDelimitedOptions {
  isHead: boolean;
  spool: SpoolPolicy | undefined;
}

export class CloseDelimitedResponse implements ResponseSink {
  /** The response was cut: the connection is being reset. */
  cut = false;
  private readonly writer: ResponseWriter;

  constructor(
    private readonly socket: ClientSocket,
    opts: CloseDelimitedOptions,
    private readonly onDone: (response: CloseDelimitedResponse) => void,
    onAppError: (message: string) => void,
  ) {
    this.writer = new ResponseWriter(
      socket,
      {
        versionMinor: 0,
        isHead: opts.isHead,
        keepAlive: false,
        serverHeader: '',
        ...(opts.spool === undefined ? {} : { spool: opts.spool }),
      },
      () => this.onDone(this),
      onAppError,
    );
  }

  get status(): number {
    return this.writer.status;
  }

  get bytesSent(): number {
    return this.writer.bytesSent;
  }

  get headSent(): boolean {
    return this.writer.headSent;
  }

  get finished(): boolean {
    return this.cut || this.writer.finished;
  }

  head(status: string, headers: string[], body: Buffer, end: boolean, flushed?: Flushed): void {
    if (!this.cut) this.writer.head(status, headers, body, end, flushed);
  }

  data(chunk: Buffer, end: boolean, flushed?: Flushed): void {
    if (!this.cut) this.writer.data(chunk, end, flushed);
  }

  file(
    fd: number,
    offset: number,
    length: number | undefined,
    end: boolean,
    close: (fd: number) => void,
  ): void {
    if (this.cut) close(fd);
    else this.writer.file(fd, offset, length, end, close);
  }

  fail(status: number, close?: boolean): void {
    if (this.finished) return;
    if (this.writer.headSent) this.cutShort();
    else this.writer.fail(status, close);
  }

  abort(): void {
    if (this.finished) return;
    // Before the head, the end of the connection is an answer no web server takes for a
    // response: nginx reports a 502.
    if (this.writer.headSent) this.cutShort();
    else this.writer.abort();
  }

  private cutShort(): void {
    this.cut = true;
    const socket = this.socket;
    setTimeout(() => {
      if (!socket.destroyed) socket.resetAndDestroy();
    }, CUT_DELAY_MS).unref();
    this.onDone(this);
  }
}
